# Produce tests/reference/meta_analysis_reference.json and the data sets beside it:
# random-effects meta-analysis reference numbers from R metafor.
#
# Run from the repository root: Rscript tests/reference/make_meta_analysis_reference.R
#
# Data sets (all shipped with metafor through its companion package metadat, GPL >= 2):
# - dat.bcg: 13 BCG vaccine trials (Colditz et al., 1994), log risk ratios from escalc("RR").
# - dat.normand1999: 9 stroke-rehabilitation studies (Normand, 1999), standardized mean
#   differences from escalc("SMD").
# - dat.konstantopoulos2011: 56 schools in 11 districts (Konstantopoulos, 2011), a
#   three-level data set (estimates nested in districts).
#
# The REML iterations are run to a threshold of 1e-12 (metafor's default stops at 1e-5 on the
# change in tau^2), so the stored numbers are the REML solution to well under the 1e-6 the
# Python tests demand.
suppressPackageStartupMessages(library(metafor))
library(jsonlite)

here <- "tests/reference"
tight <- list(threshold = 1e-12, maxiter = 1000)

bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
bcg <- data.frame(trial = bcg$trial, author = bcg$author, year = bcg$year,
                  ablat = bcg$ablat, alloc = as.character(bcg$alloc),
                  yi = as.numeric(bcg$yi), vi = as.numeric(bcg$vi))
write.csv(bcg, file.path(here, "meta_analysis_bcg.csv"), row.names = FALSE)

normand <- escalc(measure = "SMD", m1i = m1i, sd1i = sd1i, n1i = n1i,
                  m2i = m2i, sd2i = sd2i, n2i = n2i, data = dat.normand1999)
normand <- data.frame(study = normand$study, source = normand$source,
                      n1i = normand$n1i, n2i = normand$n2i,
                      yi = as.numeric(normand$yi), vi = as.numeric(normand$vi))
write.csv(normand, file.path(here, "meta_analysis_normand1999.csv"), row.names = FALSE)

konst <- dat.konstantopoulos2011
konst <- data.frame(district = konst$district, school = konst$school, study = konst$study,
                    year = konst$year, yi = konst$yi, vi = konst$vi)
write.csv(konst, file.path(here, "meta_analysis_konstantopoulos2011.csv"), row.names = FALSE)

pooled <- function(fit) {
  prediction <- predict(fit)
  list(
    estimate = unname(fit$beta[1, 1]), std_error = unname(fit$se[1]),
    statistic = unname(fit$zval[1]), p_value = unname(fit$pval[1]),
    conf_low = unname(fit$ci.lb[1]), conf_high = unname(fit$ci.ub[1]),
    tau2 = fit$tau2, se_tau2 = fit$se.tau2, i2 = fit$I2, h2 = fit$H2,
    q = fit$QE, q_df = fit$k - fit$p, q_p_value = fit$QEp,
    pred_low = unname(prediction$pi.lb[1]), pred_high = unname(prediction$pi.ub[1]),
    k = fit$k, dfs = if (is.null(fit$ddf)) NA else unname(fit$ddf[1])
  )
}

regression <- function(fit) {
  list(
    terms = rownames(fit$beta), estimate = unname(fit$beta[, 1]), std_error = unname(fit$se),
    statistic = unname(fit$zval), p_value = unname(fit$pval),
    conf_low = unname(fit$ci.lb), conf_high = unname(fit$ci.ub),
    tau2 = fit$tau2, i2 = fit$I2, h2 = fit$H2, r2 = fit$R2,
    qe = fit$QE, qe_p_value = fit$QEp, qm = fit$QM, qm_p_value = fit$QMp,
    k = fit$k, p = fit$p
  )
}

egger <- function(fit, model) {
  test <- regtest(fit, model = model)
  list(statistic = unname(test$zval), p_value = unname(test$pval),
       dfs = if (is.null(test$ddf)) NA else unname(test$ddf),
       limit_estimate = unname(test$est))
}

cases <- list()
for (name in c("bcg", "normand1999")) {
  d <- if (name == "bcg") bcg else normand
  reml_knha <- rma(yi, vi, data = d, method = "REML", test = "knha", control = tight)
  reml_z <- rma(yi, vi, data = d, method = "REML", test = "z", control = tight)
  dl_z <- rma(yi, vi, data = d, method = "DL", test = "z")
  dl_knha <- rma(yi, vi, data = d, method = "DL", test = "knha")
  fixed <- rma(yi, vi, data = d, method = "FE")
  cases[[name]] <- list(
    reml_knha = pooled(reml_knha), reml_z = pooled(reml_z), dl_z = pooled(dl_z),
    dl_knha = pooled(dl_knha), fixed = pooled(fixed),
    egger_rma = egger(reml_knha, "rma"), egger_lm = egger(reml_knha, "lm")
  )
}
cases$bcg$moderators_knha <- regression(
  rma(yi, vi, mods = ~ ablat + year, data = bcg, method = "REML", test = "knha",
      control = tight))
cases$bcg$moderators_z <- regression(
  rma(yi, vi, mods = ~ ablat + year, data = bcg, method = "REML", test = "z", control = tight))
cases$bcg$moderators_alloc_knha <- regression(
  rma(yi, vi, mods = ~ factor(alloc), data = bcg, method = "REML", test = "knha",
      control = tight))

multilevel <- function(fit) {
  prediction <- predict(fit)
  list(
    terms = rownames(fit$beta), estimate = unname(fit$beta[, 1]), std_error = unname(fit$se),
    statistic = unname(fit$zval), p_value = unname(fit$pval),
    conf_low = unname(fit$ci.lb), conf_high = unname(fit$ci.ub),
    sigma2 = fit$sigma2, q = fit$QE, q_p_value = fit$QEp,
    pred_low = unname(prediction$pi.lb[1]), pred_high = unname(prediction$pi.ub[1]),
    loglik = as.numeric(logLik(fit)), k = fit$k
  )
}
tight_mv <- list(rel.tol = 1e-12, eval.max = 10000, iter.max = 10000)
cases$konstantopoulos2011 <- list(
  three_level = multilevel(
    rma.mv(yi, vi, random = ~ 1 | district / school, data = konst, test = "t",
           control = tight_mv)),
  three_level_year = multilevel(
    rma.mv(yi, vi, mods = ~ I(year - 1990), random = ~ 1 | district / school, data = konst,
           test = "t", control = tight_mv)),
  reml_knha = pooled(rma(yi, vi, data = konst, method = "REML", test = "knha", control = tight))
)

output <- list(
  provenance = list(
    r_version = R.version.string,
    metafor_version = as.character(packageVersion("metafor")),
    metadat_version = as.character(packageVersion("metadat")),
    script = "tests/reference/make_meta_analysis_reference.R",
    generated = format(Sys.Date())
  ),
  cases = cases
)
writeLines(toJSON(output, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null"),
           file.path(here, "meta_analysis_reference.json"))
