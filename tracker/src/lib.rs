//! Tracker library.
