# Reference numbers for the acceptance suite, from the committed data files (not from
# trustshift). Run from the repository root:
#   Rscript tests/acceptance/make_reference.R
# Writes tests/acceptance/reference.json with the R and package versions.
suppressPackageStartupMessages({
  library(sandwich); library(lmtest); library(clubSandwich); library(estimatr); library(jsonlite)
})
data_dir <- "tests/acceptance/data"
read <- function(name, wave) read.csv(file.path(data_dir, name, paste0(wave, ".csv")))

cr <- function(fit, cluster, term) {
  # CR1 as Stata's regress, vce(cluster): G/(G-1) * (N-1)/(N-K), t(G-1) reference.
  G <- length(unique(cluster))
  v1 <- vcovCL(fit, cluster = cluster, type = "HC1", cadjust = TRUE)
  se1 <- sqrt(v1[term, term])
  est <- unname(coef(fit)[term])
  p1 <- 2 * pt(abs(est / se1), df = G - 1, lower.tail = FALSE)
  q <- qt(0.975, df = G - 1)
  v2 <- vcovCR(fit, cluster = cluster, type = "CR2")
  t2 <- coef_test(fit, vcov = v2, test = "Satterthwaite", coefs = term)
  list(estimate = est, std_error = se1, p_value = p1, conf_low = est - q * se1,
       conf_high = est + q * se1, n_obs = nobs(fit), n_clusters = G,
       std_error_cr2 = t2$SE, df_satterthwaite = t2$df_Satt, p_value_cr2 = t2$p_Satt)
}

did <- function(name, strata) {
  before <- read(name, "baseline"); after <- read(name, "endline")
  stacked <- rbind(transform(before, post = 0), transform(after, post = 1))
  stacked$treated <- as.integer(stacked$arm == "award")
  stacked <- stacked[!is.na(stacked$Bagrut_status), ]
  formula <- if (strata) Bagrut_status ~ treated * post + factor(pair) else Bagrut_status ~ treated * post
  fit <- lm(formula, data = stacked)
  out <- cr(fit, stacked$school_id, "treated:post")
  out$comparison_mean <- mean(after$Bagrut_status[after$arm == "control"], na.rm = TRUE)
  out$model <- paste0("lm(", deparse(formula), "), CR1 and CR2 clustered on school_id")
  out
}

hc2 <- function(formula, data, term, model) {
  fit <- lm_robust(formula, data = data, se_type = "HC2")
  row <- summary(fit)$coefficients[term, ]
  list(estimate = unname(row["Estimate"]), std_error = unname(row["Std. Error"]),
       p_value = unname(row["Pr(>|t|)"]), conf_low = unname(row["CI Lower"]),
       conf_high = unname(row["CI Upper"]), n_obs = nobs(fit), df = unname(row["DF"]),
       std_error_hc1 = sqrt(vcovHC(lm(formula, data = data), type = "HC1")[term, term]),
       model = model)
}

blues_before <- read("beat_the_blues", "baseline"); blues_after <- read("beat_the_blues", "endline")
blues <- merge(blues_after, blues_before[, c("patient", "bdi")], by = "patient",
               suffixes = c("", "_baseline"))
blues$treated <- as.integer(blues$treatment == "BtheB")

ck_before <- read("card_krueger", "before"); ck_after <- read("card_krueger", "after")
ck <- merge(ck_after, ck_before[, c("store_id", "fte", "wage_st")], by = "store_id",
            suffixes = c("", "_baseline"), all.x = TRUE)
ck$treated <- as.integer(ck$state == "NJ")
ck_after$treated <- as.integer(ck_after$state == "NJ")

missing_indicator <- function(frame, baseline) {
  # trustshift's ANCOVA keeps follow-up respondents without a baseline value: the baseline
  # is set to the mean of the observed baseline values (among the follow-up rows) and an
  # indicator of the missing baseline enters the regression.
  frame[[paste0(baseline, "_missing")]] <- as.numeric(is.na(frame[[baseline]]))
  frame[[baseline]][is.na(frame[[baseline]])] <- mean(frame[[baseline]], na.rm = TRUE)
  frame
}

did_means <- function(before, after, outcome) {
  # Difference of the four means on all available stores (Card & Krueger's Table 3, row 3).
  m <- function(frame, state) mean(frame[[outcome]][frame$state == state], na.rm = TRUE)
  (m(after, "NJ") - m(before, "NJ")) - (m(after, "PA") - m(before, "PA"))
}

paired <- function(frame) {
  # Within-state change on the stores with FTE in both interviews: a paired t test.
  both <- frame[!is.na(frame$fte) & !is.na(frame$fte_baseline), ]
  test <- t.test(both$fte, both$fte_baseline, paired = TRUE)
  list(estimate = unname(test$estimate), std_error = unname(test$stderr),
       n_pairs = nrow(both), p_value = test$p.value,
       model = "t.test(fte_after, fte_before, paired = TRUE)")
}

reference <- list(
  r_version = R.version.string,
  packages = lapply(c(sandwich = "sandwich", clubSandwich = "clubSandwich",
                      estimatr = "estimatr"), function(p) as.character(packageVersion(p))),
  achievement_awards = did("achievement_awards", strata = TRUE),
  # The award pairs span school types: each of the 10 Arab schools is alone in its pair.
  achievement_awards_arab = did("achievement_awards_arab", strata = FALSE),
  beat_the_blues = hc2(bdi ~ treated + bdi_baseline, blues[!is.na(blues$bdi) & !is.na(blues$bdi_baseline), ],
                       "treated", "lm_robust(bdi ~ treated + bdi_baseline, se_type = 'HC2')"),
  card_krueger_fte = hc2(fte ~ treated + fte_baseline + fte_baseline_missing,
                         missing_indicator(ck, "fte_baseline")[!is.na(ck$fte), ], "treated",
                         "lm_robust(fte ~ treated + fte_baseline + missing indicator, se_type = 'HC2')"),
  card_krueger_wage = hc2(wage_st ~ treated + wage_st_baseline + wage_st_baseline_missing,
                          missing_indicator(ck, "wage_st_baseline")[!is.na(ck$wage_st), ], "treated",
                          "lm_robust(wage_st ~ treated + wage_st_baseline + missing indicator, se_type = 'HC2')"),
  card_krueger_did_fte = list(estimate = did_means(ck_before, ck_after, "fte"),
                              model = "difference of the four state-by-interview means of fte"),
  card_krueger_change_nj = paired(ck[ck$state == "NJ", ]),
  card_krueger_change_pa = paired(ck[ck$state == "PA", ]),
  card_krueger_special = hc2(special_program ~ treated, ck_after[!is.na(ck_after$special_program), ],
                             "treated", "lm_robust(special_program ~ treated, se_type = 'HC2'), post only")
)
write_json(reference, "tests/acceptance/reference.json", auto_unbox = TRUE, digits = NA, pretty = TRUE)
