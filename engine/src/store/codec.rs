//! How domain values are written to and read from SQLite: ids as integers, option sets as their
//! stable codes. The domain itself knows nothing of SQLite.

use crate::domain::*;
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};

/// An id is stored as its integer.
macro_rules! sql_id {
    ($(#[$meta:meta])* $name:ident, $entity:literal) => {
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
    };
}

/// An option set is stored as its stable code.
macro_rules! sql_code {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = ($code:literal, $value:literal)),+ $(,)? }) => {
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
    };
}

id_types!(sql_id);
options::option_sets!(sql_code);

/// A small enum with `ALL` and `code()` is stored as its code.
macro_rules! sql_by_code {
    ($($name:ty),*) => {$(
        impl ToSql for $name {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(ToSqlOutput::from(self.code()))
            }
        }

        impl FromSql for $name {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
                let text = value.as_str()?;
                <$name>::ALL
                    .iter()
                    .copied()
                    .find(|v| v.code() == text)
                    .ok_or_else(|| FromSqlError::Other(format!("unknown {} value {text:?}", stringify!($name)).into()))
            }
        }
    )*};
}

sql_by_code!(rules::Workload, RunOutcome);
