# Produce tests/reference/binary_reference.json: logit and probit fits from R glm, CR1
# cluster-robust variances from sandwich::vcovCL (type "HC1": G/(G-1) (N-1)/(N-K)), and the
# average marginal effect of `treated` (discrete change 0 -> 1, as margins/Stata
# `margins, dydx(i.treated)`) with its delta-method standard error, computed here, on
# tests/reference/binary_reference_data.csv (written here from a fixed seed).
#
# Run from the repository root: Rscript tests/reference/make_binary_reference.R
suppressMessages({
  library(sandwich)
  library(lmtest)
  library(jsonlite)
})

set.seed(20261202)
n <- 800
cluster <- rep(0:39, each = 20)
data <- data.frame(
  cluster = cluster,
  treated = as.numeric(cluster %% 2 == 1),
  stratum = (cluster %/% 2) %% 4,
  baseline = rbinom(n, 1, 0.4)
)
data$stratum_1 <- as.numeric(data$stratum == 1)
data$stratum_2 <- as.numeric(data$stratum == 2)
data$stratum_3 <- as.numeric(data$stratum == 3)
index <- -0.4 - 0.5 * data$treated + 1.1 * data$baseline + 0.2 * data$stratum +
  rnorm(40, sd = 0.3)[cluster + 1]
data$outcome <- rbinom(n, 1, plogis(index))
write.csv(data, "tests/reference/binary_reference_data.csv", row.names = FALSE)
data <- read.csv("tests/reference/binary_reference_data.csv")

formula <- outcome ~ treated + baseline + stratum_1 + stratum_2 + stratum_3
results <- list()
for (link in c("logit", "probit")) {
  fit <- glm(formula, data = data, family = binomial(link = link),
             control = glm.control(epsilon = 1e-14, maxit = 100))
  v <- vcovCL(fit, cluster = ~cluster, type = "HC1")
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
  tests <- coeftest(fit, vcov. = v)
  results[[link]] <- list(
    coefficients = as.list(beta),
    std_error_cluster = as.list(sqrt(diag(v))),
    std_error_model = as.list(sqrt(diag(vcov(fit)))),
    z_value_treated = tests["treated", "z value"],
    log_likelihood = as.numeric(logLik(fit)),
    ame_treated = ame,
    ame_std_error_cluster = sqrt(drop(t(gradient) %*% v %*% gradient))
  )
}
out <- list(
  versions = list(
    R = paste(R.version$major, R.version$minor, sep = "."),
    sandwich = as.character(packageVersion("sandwich")),
    lmtest = as.character(packageVersion("lmtest"))
  ),
  tolerance = list(relative = 1e-6),
  cases = results
)
write_json(out, "tests/reference/binary_reference.json", auto_unbox = TRUE, digits = NA,
           pretty = TRUE)
