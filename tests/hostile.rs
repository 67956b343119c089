//! Hostile input and faults (issue 18): damaged files by the thousand, writers killed at
//! random moments, a full disk, a read-only or damaged index, odd and long inputs.

mod bad_corpus;
pub mod corpus;
mod faults;
mod odd;
