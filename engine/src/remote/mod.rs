//! What a connection to a mail server needs from the organisation's data.

pub mod connect;
