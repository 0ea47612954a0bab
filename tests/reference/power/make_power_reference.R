# Reference numbers for measurement/power.py from R's pwr package.
# Run from the repository root: Rscript tests/reference/power/make_power_reference.R
# Writes tests/reference/power/power_reference.json (R and pwr versions included).
#
# Cluster designs use the design effect D = 1 + (m - 1) ICC: a t-test on cluster means with
# k clusters per arm and the cluster-level effect d / sqrt(D / m) is pwr.t.test(n = k, ...),
# whose df 2k - 2 = G - 2 is the few-clusters correction.
library(pwr)
library(jsonlite)

individual <- list()
for (n in c(20, 50, 200)) for (d in c(0.2, 0.5)) {
  individual[[length(individual) + 1]] <- list(
    n_per_arm = n, d = d,
    power = pwr.t.test(n = n, d = d, sig.level = 0.05)$power,
    mde = pwr.t.test(n = n, power = 0.8, sig.level = 0.05)$d
  )
}
unequal <- list()
for (pair in list(c(30, 60), c(100, 50))) {
  unequal[[length(unequal) + 1]] <- list(
    n_treated = pair[1], n_comparison = pair[2], d = 0.4,
    power = pwr.t2n.test(n1 = pair[1], n2 = pair[2], d = 0.4, sig.level = 0.05)$power
  )
}
sample <- list()
for (d in c(0.2, 0.3, 0.5)) {
  sample[[length(sample) + 1]] <- list(
    d = d, power = 0.8,
    n_per_arm = pwr.t.test(d = d, power = 0.8, sig.level = 0.05)$n
  )
}
cluster <- list()
for (k in c(5, 10, 20)) for (m in c(10, 25)) for (icc in c(0.02, 0.1)) {
  deff <- 1 + (m - 1) * icc
  d <- 0.3
  cluster[[length(cluster) + 1]] <- list(
    clusters_per_arm = k, cluster_size = m, icc = icc, d = d, design_effect = deff,
    power = pwr.t.test(n = k, d = d / sqrt(deff / m), sig.level = 0.05)$power,
    mde = pwr.t.test(n = k, power = 0.8, sig.level = 0.05)$d * sqrt(deff / m),
    clusters_per_arm_needed = pwr.t.test(d = d / sqrt(deff / m), power = 0.8,
                                         sig.level = 0.05)$n
  )
}
out <- list(
  generated_by = "tests/reference/power/make_power_reference.R",
  r_version = R.version.string,
  pwr_version = as.character(packageVersion("pwr")),
  individual = individual, unequal = unequal, sample = sample, cluster = cluster
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = 15, pretty = TRUE),
           "tests/reference/power/power_reference.json")
