pub type Result<T> = std::result::Result<T, ModelError>;

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("model computation failed: {0}")]
    Candle(#[from] candle_core::Error),
    #[error("the stored weights do not fit the model configuration: {what}")]
    ConfigMismatch { what: String },
    #[error("input of {got} values where the model takes {expected} per item")]
    InputLength { expected: usize, got: usize },
    #[error("no training data: the encoder needs at least one example")]
    NoTrainingData,
    #[error("unreadable model weights: {reason}")]
    Weights { reason: String },
    #[error("unreadable model configuration: {reason}")]
    Config { reason: String },
}
