# Produce tests/reference/cr2_reference.json: CR2 (Bell-McCaffrey) standard errors,
# Satterthwaite degrees of freedom and HTZ Wald tests from R clubSandwich, and HC2 standard
# errors from R estimatr, on tests/reference/cr2_reference_data.csv.
#
# Run from the repository root: Rscript tests/reference/make_cr2_reference.R
# The data set is linear_model_reference_data.csv with an `enumerator` column (row number
# modulo 3, a fixed effect that is not nested in the clusters) and with the first `cluster`
# rows of clusters 0-5 dropped, so that cluster sizes differ.
suppressMessages({
  library(clubSandwich)
  library(estimatr)
  library(jsonlite)
})

base <- read.csv("tests/reference/linear_model_reference_data.csv")
base$enumerator <- (seq_len(nrow(base)) - 1) %% 3
position <- ave(seq_len(nrow(base)), base$cluster, FUN = seq_along) - 1
data <- base[!(base$cluster < 6 & position < base$cluster), ]
write.csv(data, "tests/reference/cr2_reference_data.csv", row.names = FALSE)
data <- read.csv("tests/reference/cr2_reference_data.csv")
# Pairs of consecutive rows within a cluster: a fixed effect nested in the clusters with about
# half as many levels as rows (the adjustment matrices then need a dense square root).
data$pair <- data$cluster * 100 + (ave(seq_len(nrow(data)), data$cluster, FUN = seq_along) - 1) %/% 2

terms <- c("treated", "baseline")
cases <- list(
  ols = list(formula = outcome ~ treated + baseline, weights = FALSE),
  ols_stratum = list(formula = outcome ~ treated + baseline + factor(stratum), weights = FALSE),
  wls = list(formula = outcome ~ treated + baseline, weights = TRUE),
  wls_stratum = list(formula = outcome ~ treated + baseline + factor(stratum), weights = TRUE),
  ols_stratum_enumerator = list(
    formula = outcome ~ treated + baseline + factor(stratum) + factor(enumerator),
    weights = FALSE
  ),
  wls_stratum_enumerator = list(
    formula = outcome ~ treated + baseline + factor(stratum) + factor(enumerator),
    weights = TRUE
  )
)

results <- list()
for (name in names(cases)) {
  case <- cases[[name]]
  fit <- if (case$weights) lm(case$formula, data = data, weights = weight) else
    lm(case$formula, data = data)
  v <- vcovCR(fit, cluster = data$cluster, type = "CR2")
  tests <- coef_test(fit, vcov = v, test = "Satterthwaite")
  rows <- tests[terms, ]
  constraint <- constrain_zero(terms, coefs = coef(fit))
  wald <- Wald_test(fit, constraints = constraint, vcov = v, test = "HTZ")
  hc2 <- if (case$weights) {
    lm_robust(case$formula, data = data, weights = weight, se_type = "HC2")
  } else {
    lm_robust(case$formula, data = data, se_type = "HC2")
  }
  results[[name]] <- list(
    estimate = unname(as.list(coef(fit)[terms])),
    std_error_cr2 = unname(as.list(rows$SE)),
    df_satterthwaite = unname(as.list(rows$df_Satt)),
    p_value_satterthwaite = unname(as.list(rows$p_Satt)),
    htz = list(
      statistic = wald$Fstat, delta = wald$delta, df_numerator = wald$df_num,
      df_denominator = wald$df_denom, p_value = wald$p_val
    ),
    std_error_hc2 = unname(as.list(hc2$std.error[terms])),
    df_hc2 = unname(hc2$df[["treated"]]),
    p_value_hc2 = unname(as.list(hc2$p.value[terms]))
  )
}

pair_fit <- lm(outcome ~ baseline + factor(pair), data = data)
pair_v <- vcovCR(pair_fit, cluster = data$cluster, type = "CR2")
pair_test <- coef_test(pair_fit, vcov = pair_v, test = "Satterthwaite")["baseline", ]
results[["ols_pair"]] <- list(
  estimate = unname(coef(pair_fit)[["baseline"]]),
  std_error_cr2 = pair_test$SE,
  df_satterthwaite = pair_test$df_Satt
)

output <- list(
  generated_by = "tests/reference/make_cr2_reference.R",
  r_version = R.version.string,
  packages = list(
    clubSandwich = as.character(packageVersion("clubSandwich")),
    estimatr = as.character(packageVersion("estimatr")),
    sandwich = as.character(packageVersion("sandwich"))
  ),
  data = "tests/reference/cr2_reference_data.csv",
  terms = terms,
  cases = results
)
write(toJSON(output, auto_unbox = TRUE, digits = NA, pretty = TRUE),
      "tests/reference/cr2_reference.json")
