//! The incoming pipeline of one message (spec §3.8): [`parse`] it, look up what is known about
//! its addresses and identifiers, then [`decide`] (pure: [`filter`], [`correlate`], [`resolve`]).

pub mod correlate;
pub mod decide;
pub mod filter;
pub mod parse;
pub mod resolve;
