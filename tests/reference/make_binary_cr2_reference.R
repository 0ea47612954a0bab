# Produce tests/reference/binary_cr2_reference.json: CR2 (Bell-McCaffrey) cluster-robust
# variances of logit and probit fits from clubSandwich::vcovCR(glm_fit, type = "CR2") (its
# default working model for a glm: inverse-variance weights at the fitted values), and the
# average marginal effect of `treated` with its delta-method standard error on that
# variance, on tests/reference/binary_reference_data.csv (written by
# make_binary_reference.R).
#
# Run from the repository root: Rscript tests/reference/make_binary_cr2_reference.R
suppressMessages({
  library(clubSandwich)
  library(jsonlite)
})

data <- read.csv("tests/reference/binary_reference_data.csv")
formula <- outcome ~ treated + baseline + stratum_1 + stratum_2 + stratum_3
results <- list()
for (link in c("logit", "probit")) {
  fit <- glm(formula, data = data, family = binomial(link = link),
             control = glm.control(epsilon = 1e-14, maxit = 100))
  v <- as.matrix(vcovCR(fit, cluster = data$cluster, type = "CR2"))
  beta <- coef(fit)
  x <- model.matrix(fit)
  high <- x
  low <- x
  high[, "treated"] <- 1
  low[, "treated"] <- 0
  cdf <- if (link == "logit") plogis else pnorm
  pdf <- if (link == "logit") dlogis else dnorm
  ame <- mean(cdf(high %*% beta) - cdf(low %*% beta))
  gradient <- colMeans(drop(pdf(high %*% beta)) * high - drop(pdf(low %*% beta)) * low)
  results[[link]] <- list(
    std_error_cr2 = as.list(sqrt(diag(v))),
    ame_treated = ame,
    ame_std_error_cr2 = sqrt(drop(t(gradient) %*% v %*% gradient))
  )
}
out <- list(
  versions = list(
    R = paste(R.version$major, R.version$minor, sep = "."),
    clubSandwich = as.character(packageVersion("clubSandwich"))
  ),
  tolerance = list(relative = 1e-6),
  cases = results
)
write_json(out, "tests/reference/binary_cr2_reference.json", auto_unbox = TRUE, digits = NA,
           pretty = TRUE)
