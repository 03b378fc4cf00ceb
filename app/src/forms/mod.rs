//! Survey forms: versioned definitions (data, not code), the rules that check an
//! answer, and the expression language for conditional visibility. One
//! implementation, used by the phone while typing and by the server on every mutation.

/// The form definition types (mirrors the JSON files in `data/forms/`).
pub mod definition;
/// Why a definition is refused (`FormDefinition::check`).
pub mod definition_error;
/// The sentences of a definition's refusals (the server words them).
#[cfg(feature = "ssr")]
pub mod definition_words;
/// The small expression language of `relevant` (conditional visibility).
pub mod expr;
/// Per-answer checks: types, ranges, lengths, choices.
pub mod rules;

pub use definition::{
    Choice, DefinitionError, Field, FieldType, FormDefinition, FormVersion, Section, Text,
};
