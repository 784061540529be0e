//! Autodiscover: where a mailbox's EWS is. The POX service is asked first, then the SOAP service
//! (`GetUserSettings`), each at the two standard URLs of the mailbox's domain
//! (`https://<domain>/autodiscover/…` and `https://autodiscover.<domain>/autodiscover/…`).
//! Redirects — HTTP 3xx, and the POX answers `redirectUrl` and `redirectAddr` — are followed only
//! to `https://` URLs and at most [`MAX_REDIRECTS`] times. Each request signs in like EWS does.

use super::reply::{self, PoxAnswer, read_pox, read_soap};
use super::{Answer, Auth, EwsClient, Flavor};
use crate::protocol::{Login, failure};
use crate::{Error, ErrorKind, Result};
use serde::Serialize;
use std::time::Duration;

/// At most this many redirects are followed.
pub const MAX_REDIRECTS: u32 = 10;
pub const FAILED: &str = "ews.autodiscover.failed";
const REQUEST_SCHEMA: &str = "http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006";
const RESPONSE_SCHEMA: &str = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a";
const NS_AUTODISCOVER: &str = "http://schemas.microsoft.com/exchange/2010/Autodiscover";
const NS_ADDRESSING: &str = "http://www.w3.org/2005/08/addressing";

#[derive(Serialize)]
#[serde(rename = "Autodiscover")]
struct PoxRequest<'a> {
    #[serde(rename = "@xmlns")]
    xmlns: &'static str,
    #[serde(rename = "Request")]
    request: PoxInner<'a>,
}

#[derive(Serialize)]
struct PoxInner<'a> {
    #[serde(rename = "EMailAddress")]
    address: &'a str,
    #[serde(rename = "AcceptableResponseSchema")]
    schema: &'static str,
}

#[derive(Serialize)]
#[serde(rename = "soap:Envelope")]
struct SoapRequest<'a> {
    #[serde(rename = "@xmlns:soap")]
    soap: &'static str,
    #[serde(rename = "@xmlns:a")]
    a: &'static str,
    #[serde(rename = "@xmlns:wsa")]
    wsa: &'static str,
    #[serde(rename = "soap:Header")]
    header: SoapHeader<'a>,
    #[serde(rename = "soap:Body")]
    body: SoapBody<'a>,
}

#[derive(Serialize)]
struct SoapHeader<'a> {
    #[serde(rename = "a:RequestedServerVersion")]
    version: &'static str,
    #[serde(rename = "wsa:Action")]
    action: &'static str,
    #[serde(rename = "wsa:To")]
    to: &'a str,
}

#[derive(Serialize)]
struct SoapBody<'a> {
    #[serde(rename = "a:GetUserSettingsRequestMessage")]
    message: GetUserSettings<'a>,
}

#[derive(Serialize)]
struct GetUserSettings<'a> {
    #[serde(rename = "a:Request")]
    request: SettingsRequest<'a>,
}

#[derive(Serialize)]
struct SettingsRequest<'a> {
    #[serde(rename = "a:Users")]
    users: Users<'a>,
    #[serde(rename = "a:RequestedSettings")]
    settings: RequestedSettings,
}

#[derive(Serialize)]
struct Users<'a> {
    #[serde(rename = "a:User")]
    user: User<'a>,
}

#[derive(Serialize)]
struct User<'a> {
    #[serde(rename = "a:Mailbox")]
    mailbox: &'a str,
}

#[derive(Serialize)]
struct RequestedSettings {
    #[serde(rename = "a:Setting")]
    settings: Vec<&'static str>,
}

fn xml<T: Serialize>(v: &T) -> Result<String> {
    Ok(format!("<?xml version=\"1.0\" encoding=\"utf-8\"?>{}", quick_xml::se::to_string(v).map_err(Error::internal)?))
}

/// The POX request for `address`.
pub fn pox_request(address: &str) -> Result<String> {
    xml(&PoxRequest { xmlns: REQUEST_SCHEMA, request: PoxInner { address, schema: RESPONSE_SCHEMA } })
}

/// The SOAP `GetUserSettings` request for `address`, sent to `url`.
pub fn soap_request(address: &str, url: &str) -> Result<String> {
    xml(&SoapRequest {
        soap: super::soap::NS_SOAP,
        a: NS_AUTODISCOVER,
        wsa: NS_ADDRESSING,
        header: SoapHeader {
            version: "Exchange2013",
            action: "http://schemas.microsoft.com/exchange/2010/Autodiscover/Autodiscover/GetUserSettings",
            to: url,
        },
        body: SoapBody {
            message: GetUserSettings {
                request: SettingsRequest {
                    users: Users { user: User { mailbox: address } },
                    settings: RequestedSettings { settings: vec!["ExternalEwsUrl", "InternalEwsUrl"] },
                },
            },
        },
    })
}

fn auth_of(login: &Login) -> Auth {
    match login {
        Login::OAuth2 { token, .. } => Auth::Bearer(token.clone()),
        Login::Password { user, password } => Auth::Negotiate { user: user.clone(), password: password.clone() },
        Login::Anonymous => Auth::Negotiate { user: String::new(), password: crate::secrets::Secret::new("") },
    }
}

fn failed(address: &str, tried: &[String]) -> Error {
    Error::new(ErrorKind::Server, FAILED).param("mailbox", address).with_detail(tried.join("; "))
}

/// Finds the EWS URL of `address`.
pub async fn ews_url(address: &str, login: &Login, ca_file: &str, timeout: Duration) -> Result<String> {
    let mut address = address.trim().to_owned();
    let mut redirects = 0u32;
    let mut tried: Vec<String> = Vec::new();
    'address: loop {
        let Some((_, domain)) = address.rsplit_once('@').filter(|(u, d)| !u.is_empty() && !d.is_empty()) else {
            return Err(Error::validation("field.not_an_email")
                .param("field", "email_address")
                .param("value", &address));
        };
        let domain = domain.to_ascii_lowercase();
        let mut candidates: Vec<(String, Flavor)> = Vec::new();
        for host in [domain.clone(), format!("autodiscover.{domain}")] {
            candidates.push((format!("https://{host}/autodiscover/autodiscover.xml"), Flavor::Pox));
        }
        for host in [domain.clone(), format!("autodiscover.{domain}")] {
            candidates.push((format!("https://{host}/autodiscover/autodiscover.svc"), Flavor::AutodiscoverSoap));
        }
        let mut queue: std::collections::VecDeque<(String, Flavor)> = candidates.into();
        while let Some((url, flavor)) = queue.pop_front() {
            let client = match EwsClient::with_flavor(&url, auth_of(login), ca_file, timeout, flavor) {
                Ok(c) => c,
                Err(e) => {
                    tried.push(format!("{url}: {}", e.code()));
                    continue;
                }
            };
            let body = match flavor {
                Flavor::Pox => pox_request(&address)?,
                _ => soap_request(&address, &url)?,
            };
            let answer: Answer = match client.send_signed(&body, "GetUserSettings").await {
                Ok(a) => a,
                Err(e) => {
                    tracing::debug!(url, code = e.code(), "autodiscover candidate failed");
                    tried.push(format!("{url}: {}", e.code()));
                    continue;
                }
            };
            if (300..400).contains(&answer.status) {
                let Some(next) = answer.location.filter(|l| l.starts_with("https://")) else {
                    tried.push(format!("{url}: a redirect that is not to https://"));
                    continue;
                };
                redirects += 1;
                if redirects > MAX_REDIRECTS {
                    return Err(failed(&address, &tried).param("redirects", MAX_REDIRECTS));
                }
                queue.push_front((next, flavor));
                continue;
            }
            if answer.status == 401 {
                return Err(failure::auth_failed(client.host(), &format!("HTTP 401 from {url}")));
            }
            if !(200..300).contains(&answer.status) {
                tried.push(format!("{url}: HTTP {}", answer.status));
                continue;
            }
            let root = match reply::parse(&answer.body) {
                Ok(r) => r,
                Err(e) => {
                    tried.push(format!("{url}: {e}"));
                    continue;
                }
            };
            match flavor {
                Flavor::Pox => match read_pox(&root) {
                    Ok(PoxAnswer::Ews(u)) => return Ok(u),
                    Ok(PoxAnswer::RedirectUrl(u)) if u.starts_with("https://") => {
                        redirects += 1;
                        if redirects > MAX_REDIRECTS {
                            return Err(failed(&address, &tried).param("redirects", MAX_REDIRECTS));
                        }
                        queue.push_front((u, Flavor::Pox));
                    }
                    Ok(PoxAnswer::RedirectUrl(u)) => {
                        tried.push(format!("{url}: a redirect that is not to https:// ({u})"))
                    }
                    Ok(PoxAnswer::RedirectAddr(a)) => {
                        redirects += 1;
                        if redirects > MAX_REDIRECTS {
                            return Err(failed(&address, &tried).param("redirects", MAX_REDIRECTS));
                        }
                        address = a;
                        continue 'address;
                    }
                    Ok(PoxAnswer::Refused(why)) => tried.push(format!("{url}: {why}")),
                    Err(e) => tried.push(format!("{url}: {e}")),
                },
                _ => match read_soap(&root) {
                    Ok(u) => return Ok(u),
                    Err(e) => tried.push(format!("{url}: {e}")),
                },
            }
        }
        return Err(failed(&address, &tried));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pox_answers_give_the_ews_url_or_a_redirect() -> std::result::Result<(), String> {
        let settings = r#"<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006">
<Response xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"><Account>
<AccountType>email</AccountType><Action>settings</Action>
<Protocol><Type>EXPR</Type><EwsUrl>https://mail.contoso.test/EWS/Exchange.asmx</EwsUrl></Protocol>
<Protocol><Type>EXCH</Type><EwsUrl>https://ex01.contoso.test/EWS/Exchange.asmx</EwsUrl></Protocol>
</Account></Response></Autodiscover>"#;
        let root = reply::parse(settings.as_bytes())?;
        assert_eq!(read_pox(&root)?, PoxAnswer::Ews("https://ex01.contoso.test/EWS/Exchange.asmx".into()));
        let redirect = r#"<Autodiscover><Response><Account><Action>redirectAddr</Action>
<RedirectAddr>nancy@fabrikam.test</RedirectAddr></Account></Response></Autodiscover>"#;
        assert_eq!(
            read_pox(&reply::parse(redirect.as_bytes())?)?,
            PoxAnswer::RedirectAddr("nancy@fabrikam.test".into())
        );
        let error = r#"<Autodiscover><Response><Error><ErrorCode>500</ErrorCode>
<Message>The e-mail address cannot be found.</Message></Error></Response></Autodiscover>"#;
        assert!(matches!(read_pox(&reply::parse(error.as_bytes())?)?, PoxAnswer::Refused(m) if m.contains("500")));
        Ok(())
    }

    #[test]
    fn requests_name_the_address_and_the_schemas() -> Result<()> {
        let pox = pox_request("nancy@contoso.test")?;
        assert!(pox.contains("<EMailAddress>nancy@contoso.test</EMailAddress>") && pox.contains(RESPONSE_SCHEMA));
        let soap = soap_request("nancy@contoso.test", "https://contoso.test/autodiscover/autodiscover.svc")?;
        assert!(soap.contains("<a:Mailbox>nancy@contoso.test</a:Mailbox>"));
        assert!(soap.contains("<a:Setting>ExternalEwsUrl</a:Setting><a:Setting>InternalEwsUrl</a:Setting>"));
        Ok(())
    }
}
