"""ML suite: the scores written back for the business date (cdm_ingest.ml_customer_scores), ML_SCORE_INVALID
when a score is NULL or outside [0, 1], or a customer has more than one row per model and date."""

from dbt_project.reason_codes import ReasonCode
from dbt_project.validate import Check

REQUIRES = ("cdm_ingest.ml_customer_scores",)


def checks() -> list[Check]:
    return [
        Check("ml_customer_scores.score_in_0_1", "cdm_ingest.ml_customer_scores", ReasonCode.ML_SCORE_INVALID,
              "select customer_id, model_name, model_version, score from {batch} "
              "where business_date = :business_date and (score is null or score < 0 or score > 1)",
              "every score of the date is within [0, 1]"),
        Check("ml_customer_scores.one_per_customer_model_date", "cdm_ingest.ml_customer_scores",
              ReasonCode.ML_SCORE_INVALID,
              "select customer_id, model_name, count(*) as copies from {batch} "
              "where business_date = :business_date group by customer_id, model_name having count(*) > 1",
              "one score per customer x model x date"),
    ]
