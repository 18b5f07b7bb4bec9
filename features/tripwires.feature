@plan:A.3 @severity:critical
Feature: Tripwires and their automatic actions
  Plan §A.3: error budget < 60% pauses the rollout; replication lag > 60s for 10m biases the
  GLB to the healthy region; conflict rate > 0.1% or non-persisted > 0.1% rolls the tenant
  back to A/P; a residency violation rolls back immediately and pages the DPO. Each tripwire
  is induced by its chaos experiment, and the action must be observed within its deadline
  (and, for the lag tripwire, not before its 10m window). The tenant is put back afterwards.

  Scenario Outline: Error budget below 60% pauses the rollout of <tenant>
    Given tenant <tenant> is put at stage "canary-50" for this scenario
    And k6 keeps traffic flowing on tenant <tenant> for 2h of plan time
    When the "error-budget-burn" experiment runs on tenant <tenant> for 1h of plan time
    Then within 15m the rollout of tenant <tenant> is paused
    And over 30m of plan time the rollout of tenant <tenant> keeps its stage and refuses an advance
    And the experiment rolled back and the steady state returned

    Examples:
      | tenant     |
      | TENANT_004 |
      | TENANT_005 |

  Scenario Outline: Replication lag over 60s for 10m biases the GLB of <tenant>
    Given tenant <tenant> is put at stage "canary-50" for this scenario
    And k6 keeps traffic flowing on tenant <tenant> for 2h of plan time
    When the "replication-delay" experiment runs on tenant <tenant> for 1h of plan time
    Then within 20m the GLB biases tenant <tenant> to the healthy region
    And the experiment rolled back and the steady state returned
    And the answers of tenant <tenant> through the GLB show all of its traffic where its GLB bias sends it

    Examples:
      | tenant     |
      | TENANT_004 |
      | TENANT_005 |

  Scenario Outline: Replication lag over 60s for less than 10m does not bias the GLB of <tenant>
    Given tenant <tenant> is put at stage "canary-50" for this scenario
    And k6 keeps traffic flowing on tenant <tenant> for 2h of plan time
    When the "replication-delay" experiment runs on tenant <tenant> for 4m of plan time
    Then the GLB does not bias tenant <tenant>
    And the experiment rolled back and the steady state returned
    And the answers of tenant <tenant> through the GLB show the "canary-50" weight on its second region

    Examples:
      | tenant     |
      | TENANT_004 |
      | TENANT_005 |

  Scenario Outline: Conflict rate over 0.1% rolls <tenant> back to A/P
    Given tenant <tenant> is put at stage "canary-50" for this scenario
    And k6 keeps traffic flowing on tenant <tenant> for 2h of plan time
    When the "conflict-storm" experiment runs on tenant <tenant> for 1h of plan time
    Then within 15m the tripwire_conflict_rate tripwire rolls tenant <tenant> back to active/passive
    And the experiment rolled back and the steady state returned
    And writes sent to the passive region of tenant <tenant> are refused or redirected and none lands there

    Examples:
      | tenant     |
      | TENANT_004 |
      | TENANT_005 |

  Scenario Outline: Non-persisted queries over 0.1% roll <tenant> back to A/P
    Given tenant <tenant> is put at stage "canary-50" for this scenario
    And k6 keeps traffic flowing on tenant <tenant> for 2h of plan time
    When the "non-persisted-burst" experiment runs on tenant <tenant> for 1h of plan time
    Then within 15m the tripwire_non_persisted tripwire rolls tenant <tenant> back to active/passive
    And the experiment rolled back and the steady state returned
    And writes sent to the passive region of tenant <tenant> are refused or redirected and none lands there

    Examples:
      | tenant     |
      | TENANT_004 |
      | TENANT_005 |

  Scenario Outline: A residency violation rolls <tenant> back at once and pages the DPO
    Given tenant <tenant> is put at stage "canary-50" for this scenario
    And k6 keeps traffic flowing on tenant <tenant> for 2h of plan time
    When the "residency-regression" experiment runs on tenant <tenant> for 1h of plan time
    Then within 10m tenant <tenant> is rolled back to active/passive and the DPO is paged
    And the experiment rolled back and the steady state returned
    And writes sent to the passive region of tenant <tenant> are refused or redirected and none lands there
    And once replication has had a lag-gate window, no region outside tenant <tenant>'s jurisdiction holds its rows

    Examples:
      | tenant     |
      | TENANT_004 |
      | TENANT_005 |
