//! filterbench-reports
