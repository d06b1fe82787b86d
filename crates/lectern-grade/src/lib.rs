//! The grader: hand-ins in, results and a gradebook out, from the course's own key.
//!
//! It knows the course model and asks the runner to run code; it must never know HTML
//! templates of the site, and it never runs student code itself.
//!
//! Not built yet: `lectern grade` arrives with the grading issue.
