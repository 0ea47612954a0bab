# Produce tests/reference/icc/icc_reference.json: one-way ANOVA intracluster correlations
# with their F-based (Searle) 95% intervals, from R, on icc_reference_data.csv.
#
# Run from the repository root: Rscript tests/reference/icc/make_icc_reference.R
# Two data sets, made here with a fixed seed and written to icc_reference_data.csv:
# "balanced": 12 clusters of 8 (true ICC 0.1); "unbalanced": 15 clusters of 3-20 (true ICC
# 0.05). The balanced case is checked against psych::ICC (its ICC1, "single random raters",
# is the one-way ANOVA ICC with the F interval, with the clusters as the rows and their
# members as the columns); both cases against the sums of squares of stats::aov with the
# ANOVA mean cluster size n0 = (N - sum n_j^2 / N) / (k - 1) (Donner 1986) and Searle's
# interval (Searle 1971, p. 414).
suppressMessages({
  library(psych)
  library(jsonlite)
})

set.seed(20261201)
make <- function(name, sizes, icc) {
  k <- length(sizes)
  effect <- rnorm(k, sd = sqrt(icc))
  cluster <- rep(seq_len(k), sizes)
  y <- round(effect[cluster] + rnorm(sum(sizes), sd = sqrt(1 - icc)), 6)
  data.frame(case = name, cluster = cluster, outcome = y)
}
data <- rbind(
  make("balanced", rep(8, 12), 0.1),
  make("unbalanced", sample(3:20, 15, replace = TRUE), 0.05)
)
write.csv(data, "tests/reference/icc/icc_reference_data.csv", row.names = FALSE)
data <- read.csv("tests/reference/icc/icc_reference_data.csv")

anova_icc <- function(rows, confidence = 0.95) {
  fit <- summary(aov(outcome ~ factor(cluster), data = rows))[[1]]
  msb <- fit[["Mean Sq"]][1]
  msw <- fit[["Mean Sq"]][2]
  df1 <- fit[["Df"]][1]
  df2 <- fit[["Df"]][2]
  sizes <- table(rows$cluster)
  n <- sum(sizes)
  n0 <- (n - sum(sizes^2) / n) / df1
  f <- msb / msw
  tail <- (1 - confidence) / 2
  low <- f / qf(1 - tail, df1, df2)
  high <- f / qf(tail, df1, df2)
  list(
    estimate = (msb - msw) / (msb + (n0 - 1) * msw),
    conf_low = (low - 1) / (low + n0 - 1),
    conf_high = (high - 1) / (high + n0 - 1),
    n0 = n0, f = f, df1 = df1, df2 = df2
  )
}

cases <- list()
for (name in c("balanced", "unbalanced")) {
  rows <- data[data$case == name, ]
  cases[[name]] <- list(aov = anova_icc(rows))
}
balanced <- data[data$case == "balanced", ]
wide <- matrix(balanced$outcome, nrow = 12, byrow = TRUE)
psych_fit <- suppressWarnings(psych::ICC(wide, lmer = FALSE))$results
one <- psych_fit[psych_fit$type == "ICC1", ]
cases$balanced$psych <- list(
  estimate = one$ICC, conf_low = one$`lower bound`, conf_high = one$`upper bound`, f = one$F
)

write_json(
  list(
    generated_by = "tests/reference/icc/make_icc_reference.R",
    r_version = R.version.string,
    psych_version = as.character(packageVersion("psych")),
    confidence = 0.95,
    cases = cases
  ),
  "tests/reference/icc/icc_reference.json",
  auto_unbox = TRUE, digits = NA, pretty = TRUE
)
