@plan:C @workstream:evidence-dashboards
Feature: Evidence integration: GA delta report, DR drill schedule, privacy dashboard tiles
  Plan §C: the GA delta report is linked in the release notes, the DR drill schedule is JSON
  that runbooks and calendars reference, and the privacy dashboard tiles are Grafana JSON for
  an internal, admin-only folder. (The QI catalog v1 line of §C is qi_governance.feature.)
  Each artifact is produced into the run's output directory and attached to the evidence.

  Scenario: The GA delta report is computed from the evidence and linked in the release notes
    Given the tenants at A/A GA before the expansion in the target profile
    When the validation gates of the GA-before tenants are measured for 1h of plan time under k6 load
    And the GA delta report is computed from the evidence recorded so far
    Then the GA delta report is valid against its schema and cites the bundle by sha256
    And the GA delta report references the QI catalog by version and digest
    And the GA delta report says whether it was computed from rehearsal evidence
    And every tenant added to GA in the GA delta report passed its GA soak in the evidence
    And the GA delta report compares every gate of the baseline with the GA-before tenants
    And the release-notes snippet links the GA delta report by a relative path

  Scenario: The monthly DR drill schedule covers every enrolled tenant, in JSON and a calendar
    When the DR drill schedule is built from the target's readiness records
    Then every tenant of the target profile is enrolled and has a monthly drill in the schedule
    And the DR drill schedule is valid against its schema
    And the calendar export holds one event per scheduled drill with the drill's id

  Scenario: The privacy dashboard tiles are importable Grafana JSON for an admin-only folder
    When the privacy dashboard tiles are generated
    Then the privacy dashboard is valid against its schema
    And every privacy tile queries a metric the target exports
    And the privacy dashboard is placed in an admin-only folder
