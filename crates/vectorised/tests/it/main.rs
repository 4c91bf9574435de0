//! Integration tests of the fast engine, one module per subject.
