# Writes the acceptance data sets (as CSV, one file per wave) from the R packages that ship
# them. Run from this folder: Rscript make_data.R. tests/acceptance/data/make_formats.py then
# writes the second format of each file. See each folder's README.md for provenance.
suppressPackageStartupMessages({library(clubSandwich); library(HSAUR3)})

write <- function(frame, path) write.csv(frame, path, row.names = FALSE, na = "")

# Angrist & Lavy (2009) achievement awards: one row per student, repeated cohorts.
data(AchievementAwardsRCT)
awards <- as.data.frame(AchievementAwardsRCT)
awards <- awards[awards$year %in% c("2000", "2001"),
                 c("year", "student_id", "school_id", "school_type", "pair", "treated",
                   "sex", "siblings", "immigrant", "father_ed", "mother_ed", "Bagrut_status")]
awards$arm <- ifelse(awards$treated == 1, "award", "control")
awards$treated <- NULL
awards$year <- as.character(awards$year)
dir.create("achievement_awards", showWarnings = FALSE)
dir.create("achievement_awards_arab", showWarnings = FALSE)
for (y in c("2000", "2001")) {
  wave <- if (y == "2000") "baseline" else "endline"
  cohort <- awards[awards$year == y, setdiff(names(awards), "year")]
  write(cohort, file.path("achievement_awards", paste0(wave, ".csv")))
  write(cohort[cohort$school_type == "Arab", ], file.path("achievement_awards_arab", paste0(wave, ".csv")))
}

# Beat the Blues (Proudfoot et al. 2003): one row per patient and wave (wide in the package).
data(BtheB)
blues <- BtheB
blues$patient <- sprintf("p%03d", seq_len(nrow(blues)))
dir.create("beat_the_blues", showWarnings = FALSE)
base <- data.frame(patient = blues$patient, treatment = as.character(blues$treatment),
                   drug = as.character(blues$drug), length = as.character(blues$length),
                   bdi = blues$bdi.pre)
end <- data.frame(patient = blues$patient, treatment = as.character(blues$treatment),
                  bdi = blues$bdi.2m)
end <- end[!is.na(end$bdi), ]
write(base, file.path("beat_the_blues", "baseline.csv"))
write(end, file.path("beat_the_blues", "endline.csv"))
