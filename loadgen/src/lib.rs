//! filterbench-loadgen
