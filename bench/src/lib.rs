//! filterbench-bench
