//! How domain values are written to and read from SQLite: ids as integers, option sets as their
//! stable codes. The domain itself knows nothing of SQLite.

use crate::domain::*;
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};

macro_rules! sql_ids {
    ($($name:ident),+ $(,)?) => {$(
        impl ToSql for $name {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(ToSqlOutput::from(self.0))
            }
        }

        impl FromSql for $name {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
                i64::column_result(value).map($name)
            }
        }
    )+};
}

macro_rules! sql_codes {
    ($($name:ident),+ $(,)?) => {$(
        impl ToSql for $name {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(ToSqlOutput::from(self.code()))
            }
        }

        impl FromSql for $name {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
                let text = value.as_str()?;
                $name::ALL
                    .iter()
                    .copied()
                    .find(|v| v.code() == text)
                    .ok_or_else(|| FromSqlError::Other(format!("unknown {} value {text:?}", stringify!($name)).into()))
            }
        }
    )+};
}

sql_ids!(ProfileId, MailboxId, UserId, QueueId, AlertId, JobId);

sql_codes!(
    ServerType,
    CredentialMode,
    AuthProtocol,
    TlsMode,
    OauthCredentialKind,
    ServerAuthority,
    RecordState,
    IncomingMethod,
    OutgoingMethod,
    ActMethod,
    TestStatus,
    EmailAddressStatus,
    AlertLevel,
    ProcessEmailUsing,
    FilteringMethod,
    TestExecutionStatus,
    JobState,
    JobItemState,
);
