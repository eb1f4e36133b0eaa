//! The one error type of the core crate. Other crates convert into it at
//! their edges (`Error::Other` carries a message and an optional source).

use std::path::PathBuf;

/// Everything that can go wrong in metaalign's core and in components that
/// report through it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A configuration file or snippet is invalid. `message` already names
    /// the key, line and column where they are known.
    #[error("{message}")]
    Config {
        /// What is wrong, and where.
        message: String,
    },

    /// A plugin registry problem (duplicate kind, unknown kind).
    #[error("registry: {0}")]
    Registry(String),

    /// The pipeline's stages do not fit together (unknown reference, cycle,
    /// duplicate stage name).
    #[error("pipeline: {0}")]
    Pipeline(String),

    /// A stage failed while running.
    #[error("stage `{stage}` failed: {source}")]
    Stage {
        /// The stage's name (`policy` for the starting policy).
        stage: String,
        /// Why it failed.
        #[source]
        source: Box<Error>,
    },

    /// Input data (a dataset, a task record, a model output) is malformed.
    #[error("invalid data: {0}")]
    Data(String),

    /// A checkpoint is missing, corrupt or does not match what was expected.
    #[error("checkpoint {path}: {message}")]
    Checkpoint {
        /// The checkpoint directory or file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },

    /// Shapes or dtypes that must agree do not.
    #[error("shape mismatch: {0}")]
    Shape(String),

    /// The run was interrupted (Ctrl-C); finished work is kept.
    #[error("interrupted")]
    Interrupted,

    /// A file operation failed (see [`Error::io`]).
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file or folder it failed on.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },

    /// JSON could not be read or written.
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),

    /// Anything else, from a component crate.
    #[error("{message}")]
    Other {
        /// What went wrong.
        message: String,
        /// The component's own error, when there is one.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
}

/// `Result` with this crate's [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An error with just a message.
    pub fn msg(message: impl Into<String>) -> Self {
        Error::Other {
            message: message.into(),
            source: None,
        }
    }

    /// Wraps a foreign error with context.
    pub fn wrap(
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Error::Other {
            message: message.into(),
            source: Some(Box::new(source)),
        }
    }

    /// An I/O error that names the path it happened on.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// An invalid-configuration error ([`Error::Config`]).
    pub fn config(message: impl Into<String>) -> Self {
        Error::Config {
            message: message.into(),
        }
    }

    /// A malformed-data error ([`Error::Data`]).
    pub fn data(message: impl Into<String>) -> Self {
        Error::Data(message.into())
    }
}
