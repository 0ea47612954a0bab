"""Pure statistics for campaign evaluations: DataFrames in, tidy results out."""
