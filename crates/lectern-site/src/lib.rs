//! The static site compiler: a [`lectern_lesson::Course`] in, HTML pages out.
//!
//! It knows the course model and templates; it must never know how student code is run
//! or graded, and in exam mode it must never write any part of the answer key.
//!
//! Not built yet: `lectern build` and `lectern serve` arrive with the site issue.
