//! Option sets (Dataverse "picklists") of the email configuration.
//!
//! Each value is stored in SQLite and sent over IPC as a stable snake_case code; the Dataverse
//! option value it mirrors is kept in `dataverse_value()` for reference and for imports.

/// Declares an option set: a fieldless enum with a stable code per variant, `FromStr` (the store
/// maps them to their codes), and the list of all values (what a form's drop-down offers). Its
/// wire form (serde, TypeScript) is declared at the boundary, in `api::wire`, from the same list.
macro_rules! option_set {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = ($code:literal, $value:literal)),+ $(,)? }) => {
        option_set!($(#[$meta])* $name { $($(#[$vmeta])* $variant = $code),+ });

        impl $name {
            /// The option value Dynamics 365 uses for the same choice.
            pub fn dataverse_value(self) -> i32 {
                match self { $($name::$variant => $value),+ }
            }
        }
    };
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $code:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// Every value, in the order a form lists them.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stable code stored in the database and used over IPC.
            pub const fn code(self) -> &'static str {
                match self { $($name::$variant => $code),+ }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.code())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = crate::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let wanted = s.trim().replace('-', "_");
                $name::ALL
                    .iter()
                    .copied()
                    .find(|v| v.code() == wanted)
                    .ok_or_else(|| {
                        crate::Error::validation("value.not_in_option_set")
                            .param("option_set", stringify!($name))
                            .param("value", s)
                            .param("allowed", $name::ALL.iter().map(|v| v.code()).collect::<Vec<_>>().join(", "))
                    })
            }
        }
    };
}

/// Every option set, listed once: `option_sets!(m)` expands to `m! { Name { Variant = (code, value), … } }`
/// for each. The domain declares its enums with it below; `api::wire` declares their wire twins.
macro_rules! option_sets {
    ($m:ident) => {
        $m! {
            /// The kind of email system a profile connects to (ServerSync's four server types).
            ServerType {
                /// Exchange Online through Microsoft Graph, app-only OAuth.
                ExchangeOnline = ("exchange_online", 0),
                /// Exchange Server on-premises (2016, 2019, SE) through EWS.
                ExchangeServer = ("exchange_server", 2),
                /// IMAP for incoming, SMTP for outgoing.
                ImapSmtp = ("imap_smtp", 4),
                /// POP3 for incoming, SMTP for outgoing.
                Pop3Smtp = ("pop3_smtp", 1),
            }
        }
        $m! {
            /// "Authenticate Using": where the credentials for a connection come from.
            CredentialMode {
                UserOrQueue = ("user_or_queue", 0),
                Profile = ("profile", 1),
                ServerToServer = ("server_to_server", 2),
                WindowsIntegrated = ("windows_integrated", 3),
                Anonymous = ("anonymous", 4),
                /// Gmail OAuth in Dynamics; in ServerSync any XOAUTH2 sign-in by the mailbox's user.
                UserOauth = ("user_oauth", 5),
                ExchangeHybridModernAuth = ("exchange_hma", 6),
                OauthEntraId = ("oauth_entra_id", 7),
            }
        }
        $m! {
            /// Incoming/Outgoing Authentication Protocol.
            AuthProtocol {
                AutoDetect = ("auto_detect", 0),
                Negotiate = ("negotiate", 1),
                Ntlm = ("ntlm", 2),
                Basic = ("basic", 3),
                Oauth = ("oauth", 4),
            }
        }
        $m! {
            /// How TLS is started on a connection whose "Use SSL" is Yes.
            TlsMode {
                /// TLS from the first byte (IMAPS 993, POP3S 995, SMTPS 465, HTTPS 443).
                Implicit = ("implicit", 0),
                /// A plain connection upgraded by STARTTLS / STLS before anything else is sent.
                StartTls = ("starttls", 1),
            }
        }
        $m! {
            /// Which credential an Exchange Online (Graph) app registration signs in with.
            OauthCredentialKind {
                ClientSecret = ("client_secret", 0),
                Certificate = ("certificate", 1),
            }
        }
        $m! {
            /// The Microsoft Entra authority a profile signs in against.
            ServerAuthority {
                Public = ("public", 0),
                UsGovernment = ("us_government", 1),
                China = ("china", 2),
                Automatic = ("automatic", 3),
            }
        }
        $m! {
            /// Active / Inactive (statecode).
            RecordState {
                Active = ("active", 0),
                Inactive = ("inactive", 1),
            }
        }
        $m! {
            /// Incoming Email synchronization method of a mailbox.
            IncomingMethod {
                None = ("none", 0),
                Outlook = ("outlook", 1),
                ServerSideSync = ("server_side_sync", 2),
                ForwardMailbox = ("forward_mailbox", 3),
            }
        }
        $m! {
            /// Outgoing Email synchronization method of a mailbox.
            OutgoingMethod {
                None = ("none", 0),
                Outlook = ("outlook", 1),
                ServerSideSync = ("server_side_sync", 2),
            }
        }
        $m! {
            /// Appointments, Contacts, and Tasks synchronization method of a mailbox.
            ActMethod {
                Outlook = ("outlook", 0),
                ServerSideSync = ("server_side_sync", 1),
                None = ("none", 2),
            }
        }
        $m! {
            /// Result of the last test of one workload of a mailbox.
            TestStatus {
                NotRun = ("not_run", 0),
                Success = ("success", 1),
                Failure = ("failure", 2),
            }
        }
        $m! {
            /// Email Address Status (`emailrouteraccessapproval`).
            EmailAddressStatus {
                Empty = ("empty", 0),
                Approved = ("approved", 1),
                PendingApproval = ("pending_approval", 2),
                Rejected = ("rejected", 3),
            }
        }
        $m! {
            /// Alert level (`tracelog.level`).
            AlertLevel {
                Information = ("information", 1),
                Warning = ("warning", 2),
                Error = ("error", 3),
            }
        }
        $m! {
            /// Process Email Using (organisation).
            ProcessEmailUsing {
                ServerSideSync = ("server_side_sync", 0),
                EmailRouter = ("email_router", 1),
            }
        }
        $m! {
            /// Which incoming messages become email activities (user personal option, queue setting).
            FilteringMethod {
                AllEmail = ("all_email", 0),
                ResponsesToCrmEmail = ("responses_to_crm_email", 1),
                FromLeadsContactsAccounts = ("from_leads_contacts_accounts", 2),
                FromEmailEnabledRecords = ("from_email_enabled_records", 3),
                NoEmail = ("no_email", 4),
            }
        }
        $m! {
            /// Last Test Execution Status of a profile's Test Connection.
            TestExecutionStatus {
                Failure = ("failure", 0),
                Success = ("success", 1),
                Warning = ("warning", 2),
            }
        }
        $m! {
            /// State of a background job (`asyncoperation`).
            JobState {
                Queued = ("queued", 0),
                Running = ("running", 20),
                Succeeded = ("succeeded", 30),
                Failed = ("failed", 31),
                Cancelled = ("cancelled", 32),
            }
        }
        $m! {
            /// State of one mailbox in a Test & Enable job.
            JobItemState {
                Pending = ("pending", 0),
                Testing = ("testing", 1),
                Success = ("success", 2),
                Failure = ("failure", 3),
                Cancelled = ("cancelled", 4),
            }
        }
        $m! {
            /// A kind of email-enabled record: what an address can resolve to. The value is the
            /// Dataverse object type code; the order is the sender-resolution precedence of spec
            /// §3.10 (users, contacts, accounts, leads, then the other email-enabled tables).
            EmailEntity {
                User = ("user", 8),
                Contact = ("contact", 2),
                Account = ("account", 1),
                Lead = ("lead", 4),
                Queue = ("queue", 2020),
            }
        }
        $m! {
            /// Whether an email came in or went out (`directioncode`).
            ActivityDirection {
                Incoming = ("incoming", 0),
                Outgoing = ("outgoing", 1),
            }
        }
        $m! {
            /// An email activity's status reason (`statuscode`).
            EmailStatus {
                Draft = ("draft", 1),
                Completed = ("completed", 2),
                Sent = ("sent", 3),
                Received = ("received", 4),
                Canceled = ("canceled", 5),
                PendingSend = ("pending_send", 6),
                Sending = ("sending", 7),
                Failed = ("failed", 8),
            }
        }
        $m! {
            /// How an email was found to belong to a conversation already tracked
            /// (`correlationmethod`, spec §3.9).
            CorrelationMethod {
                None = ("none", 0),
                Skipped = ("skipped", 1),
                XHeader = ("x_header", 2),
                InReplyTo = ("in_reply_to", 3),
                TrackingToken = ("tracking_token", 4),
                ConversationIndex = ("conversation_index", 5),
                SmartMatching = ("smart_matching", 6),
                Custom = ("custom", 7),
            }
        }
        $m! {
            /// A party's place on an email (`participationtypemask`).
            PartyRole {
                From = ("from", 1),
                To = ("to", 2),
                Cc = ("cc", 3),
                Bcc = ("bcc", 4),
            }
        }
        $m! {
            /// What the email record says about content it could not keep (`notifications`).
            EmailNotification {
                None = ("none", 0),
                /// "The message was saved … but not all the attachments could be saved with it."
                AttachmentsNotSaved = ("attachments_not_saved", 1),
                /// "Truncated body."
                TruncatedBody = ("truncated_body", 2),
            }
        }
        $m! {
            /// Why an attachment was not saved with its email.
            AttachmentNotSaved {
                /// Its file extension is on the organisation's blocked list.
                BlockedExtension = ("blocked_extension", 0),
                /// It is larger than the organisation's maximum file size.
                TooLarge = ("too_large", 1),
            }
        }
        $m! {
            /// What became of a message that was not tracked.
            ItemOutcome {
                /// The rules did not accept it (it stays in the Inbox).
                Skipped = ("skipped", 0),
                /// Its activity could not be created.
                Failed = ("failed", 1),
            }
        }
    };
}
pub(crate) use option_sets;

pub(crate) use option_set;

option_sets!(option_set);

impl ServerType {
    /// Exchange Online or Exchange Server.
    pub fn is_exchange(self) -> bool {
        matches!(self, ServerType::ExchangeOnline | ServerType::ExchangeServer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_through_from_str() {
        for v in CredentialMode::ALL {
            assert_eq!(v.code().parse::<CredentialMode>().ok(), Some(*v));
        }
        assert_eq!("imap-smtp".parse::<ServerType>().ok(), Some(ServerType::ImapSmtp));
    }

    #[test]
    fn unknown_code_is_refused_with_the_allowed_values() {
        let err = "carrier_pigeon".parse::<ServerType>().err();
        let err = err.map(|e| (e.code(), e.param_value("allowed").map(str::to_owned)));
        assert_eq!(
            err,
            Some((
                "value.not_in_option_set",
                Some("exchange_online, exchange_server, imap_smtp, pop3_smtp".to_owned())
            ))
        );
    }

    #[test]
    fn dataverse_values_match_the_spec() {
        assert_eq!(ActMethod::None.dataverse_value(), 2);
        assert_eq!(EmailAddressStatus::PendingApproval.dataverse_value(), 2);
        assert_eq!(IncomingMethod::ForwardMailbox.dataverse_value(), 3);
        assert_eq!(CredentialMode::OauthEntraId.dataverse_value(), 7);
    }
}
