@plan:C @workstream:privacy-qi-governance
Feature: QI catalog v1 frozen and referenced
  Every number the plan is judged against lives in one catalog. The plan (§C and the
  Definition of Done) requires it FROZEN at v1.0.0 with a 90-day review, attached to the
  evidence and referenced by it.

  Scenario: The QI catalog is frozen at v1.0.0 with a 90-day review
    Given the QI catalog the suite judges against
    Then its status is "FROZEN" at version "1.0.0"
    And its review is due 90 days after its freeze date
    And its digest is the RFC 8785 digest of its content
    And an overdue review is reported as a warning, not hidden

  Scenario: The QI catalog is attached to the evidence and referenced by it
    Given the QI catalog the suite judges against
    Then the catalog is attached to the evidence as YAML and as JSON
    And the evidence of this run references the catalog by version and digest
