//! Contacts, accounts and leads: what Save refuses (spec §4.1; lengths as Dynamics has them).

use super::super::crm::{Account, Contact, CrmRecord, Lead};
use super::fields::*;
use crate::{Error, Result};

/// The email-address fields of a record, by column name.
const ADDRESS_FIELDS: [&str; 3] = ["email_address_1", "email_address_2", "email_address_3"];

fn check_addresses<R: CrmRecord>(r: &R) -> Result<()> {
    for (field, value) in ADDRESS_FIELDS.into_iter().zip(r.email_addresses()) {
        max_len(field, value, 100)?;
        let value = value.trim();
        if !value.is_empty() && !is_valid_email(value) {
            return Err(Error::validation("field.not_an_email").param("field", field).param("value", value));
        }
    }
    Ok(())
}

/// Validates a contact as it would be saved.
pub fn validate_contact(c: &Contact) -> Result<()> {
    required("last_name", &c.last_name)?;
    max_len("last_name", &c.last_name, 50)?;
    max_len("first_name", &c.first_name, 50)?;
    check_addresses(c)
}

/// Validates an account as it would be saved.
pub fn validate_account(a: &Account) -> Result<()> {
    required("name", &a.name)?;
    max_len("name", &a.name, 160)?;
    check_addresses(a)
}

/// Validates a lead as it would be saved.
pub fn validate_lead(l: &Lead) -> Result<()> {
    required("last_name", &l.last_name)?;
    max_len("last_name", &l.last_name, 50)?;
    max_len("first_name", &l.first_name, 50)?;
    max_len("company_name", &l.company_name, 100)?;
    check_addresses(l)
}

/// Trims every text field as Save does.
pub fn normalize_contact(c: &mut Contact) {
    for s in
        [&mut c.first_name, &mut c.last_name, &mut c.email_address_1, &mut c.email_address_2, &mut c.email_address_3]
    {
        *s = s.trim().to_owned();
    }
}

/// Trims every text field as Save does.
pub fn normalize_account(a: &mut Account) {
    for s in [&mut a.name, &mut a.email_address_1, &mut a.email_address_2, &mut a.email_address_3] {
        *s = s.trim().to_owned();
    }
}

/// Trims every text field as Save does.
pub fn normalize_lead(l: &mut Lead) {
    for s in [
        &mut l.first_name,
        &mut l.last_name,
        &mut l.company_name,
        &mut l.email_address_1,
        &mut l.email_address_2,
        &mut l.email_address_3,
    ] {
        *s = s.trim().to_owned();
    }
}
