# Produce tests/reference/ordinal_reference.json: proportional-odds logit from R ordinal::clm
# on tests/reference/ordinal_reference_data.csv (written here from a fixed seed).
#
# Run from the repository root: Rscript tests/reference/make_ordinal_reference.R
# clm is run with gradTol = 1e-10 (its default is 1e-6) so that the stored optimum is exact
# to well below the 1e-6 relative tolerance of the test. Cluster-robust standard errors are
# computed here from the analytic per-observation scores of the clm fit (sandwich has no
# estfun method for clm), with the CR1-type factor G/(G-1) (N-1)/(N-K), K = coefficients +
# cut points.
suppressMessages({
  library(ordinal)
  library(jsonlite)
})

set.seed(20261201)
n <- 600
cluster <- rep(0:29, each = 20)
data <- data.frame(
  cluster = cluster,
  treated = as.numeric(cluster %% 2 == 1),
  stratum = cluster %% 3,
  baseline = round(rnorm(n), 4)
)
data$stratum_1 <- as.numeric(data$stratum == 1)
data$stratum_2 <- as.numeric(data$stratum == 2)
latent <- 0.5 * data$treated + 0.8 * data$baseline + 0.3 * data$stratum +
  rnorm(30, sd = 0.4)[cluster + 1] + rlogis(n)
data$outcome <- findInterval(latent, c(-1.5, -0.3, 0.7, 1.8)) + 1
write.csv(data, "tests/reference/ordinal_reference_data.csv", row.names = FALSE)
data <- read.csv("tests/reference/ordinal_reference_data.csv")

fit <- clm(factor(outcome) ~ treated + baseline + stratum_1 + stratum_2, data = data,
           link = "logit", control = clm.control(gradTol = 1e-10, maxIter = 200))
beta <- fit$beta
alpha <- fit$alpha
x <- as.matrix(data[, names(beta)])
y <- as.integer(factor(data$outcome))
cuts <- c(-Inf, alpha, Inf)
eta <- drop(x %*% beta)
upper <- cuts[y + 1] - eta
lower <- cuts[y] - eta
p <- plogis(upper) - plogis(lower)
fu <- dlogis(upper)
fl <- dlogis(lower)
k <- length(beta)
m <- length(alpha)
scores <- matrix(0, n, k + m)
scores[, 1:k] <- -x * (fu - fl) / p
for (j in 1:m) {
  scores[, k + j] <- ((y == j) * fu - (y == j + 1) * fl) / p
}
bread <- vcov(fit)[c(names(beta), names(alpha)), c(names(beta), names(alpha))]
sums <- rowsum(scores, data$cluster)
g <- nrow(sums)
factor <- g / (g - 1) * (n - 1) / (n - (k + m))
robust <- factor * bread %*% crossprod(sums) %*% bread

out <- list(
  versions = list(
    R = paste(R.version$major, R.version$minor, sep = "."),
    ordinal = as.character(packageVersion("ordinal"))
  ),
  tolerance = list(relative = 1e-6),
  converged = fit$convergence$code == 0,
  max_gradient = max(abs(fit$gradient)),
  log_likelihood = as.numeric(logLik(fit)),
  coefficients = as.list(beta),
  cut_points = as.list(alpha),
  std_error_model = as.list(sqrt(diag(bread))),
  std_error_cluster = setNames(as.list(sqrt(diag(robust))), c(names(beta), names(alpha)))
)
write_json(out, "tests/reference/ordinal_reference.json", auto_unbox = TRUE, digits = NA,
           pretty = TRUE)
