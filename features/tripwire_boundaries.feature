@severity:critical
Feature: Tripwires at their thresholds
  Plan §A.3 (and the §B.4 fast burn, on the pilot) at its numbers, not far past them: a fault
  sized from the catalog's threshold (the step computes the magnitude from the threshold and the
  time scale) just past it and held past the tripwire's window must trip the action within its
  deadline of the crossing the suite itself saw; one clearly below it, held as long, must not. The error budget is counted by the
  suite from the request counters, and the pause must come when that count crosses 60%, not
  when the target's own gauge says so. At 99.9% availability the budget is spent one error at a
  time (an error is 1/(requests x 0.001) of it), so its fault runs at twice the threshold for 6h
  to bring several errors on the reference staging's traffic. The tenant is put back afterwards.

  @plan:A.3
  Scenario: Replication lag just past 60s for past 10m biases the GLB of TENANT_004
    Given tenant TENANT_004 is put at stage "canary-50" for this scenario
    And k6 keeps traffic flowing on tenant TENANT_004 for 1h of plan time
    When the "replication-delay" experiment holds tripwire_replication_lag at 1.5 times its threshold on tenant TENANT_004 for 30m of plan time
    Then the target's lag metric showed the lag the suite's marker writes observed on tenant TENANT_004
    And within 20m the GLB biases tenant TENANT_004 to the healthy region
    And the experiment rolled back and the steady state returned

  @plan:A.3
  Scenario: Replication lag clearly below 60s for as long does not bias the GLB of TENANT_004
    Given tenant TENANT_004 is put at stage "canary-50" for this scenario
    And k6 keeps traffic flowing on tenant TENANT_004 for 1h of plan time
    When the "replication-delay" experiment holds tripwire_replication_lag at 0.5 times its threshold on tenant TENANT_004 for 30m of plan time
    Then the target's lag metric showed the lag the suite's marker writes observed on tenant TENANT_004
    And tripwire tripwire_replication_lag does not act on tenant TENANT_004
    And the experiment rolled back and the steady state returned

  @plan:A.3
  Scenario: The rollout of TENANT_004 pauses when the budget the suite counts crosses 60%
    Given tenant TENANT_004 is put at stage "canary-50" for this scenario
    And k6 keeps traffic flowing on tenant TENANT_004 for 7h of plan time
    And the suite counts the error budget of tenant TENANT_004 from a restart of its period
    When the "error-budget-burn" experiment holds tripwire_error_budget at 2 times its threshold on tenant TENANT_004 for 6h of plan time
    Then the rollout of tenant TENANT_004 is paused within 10m of the crossing the suite counted
    And the experiment rolled back and the steady state returned

  @plan:B.4
  Scenario: A fast error-budget burn just past 2% in 1h halts autonomy on TENANT_001
    Given the autonomy pilot runs on tenant TENANT_001 at tier T3, read-only, with HITL
    And the error budget of tenant TENANT_001 is put back after this scenario
    And k6 keeps read-only traffic flowing on tenant TENANT_001 for 3h of plan time
    When the "error-budget-burn" experiment holds tripwire_burn_fast at 1.5 times its threshold on tenant TENANT_001 for 2h of plan time
    Then within 15m autonomy on tenant TENANT_001 is halted by tripwire_burn_fast
    And the experiment rolled back and the steady state returned

  @plan:B.4
  Scenario: A fast error-budget burn clearly below 2% in 1h leaves autonomy running on TENANT_001
    Given the autonomy pilot runs on tenant TENANT_001 at tier T3, read-only, with HITL
    And the error budget of tenant TENANT_001 is put back after this scenario
    And k6 keeps read-only traffic flowing on tenant TENANT_001 for 3h of plan time
    When the "error-budget-burn" experiment holds tripwire_burn_fast at 0.5 times its threshold on tenant TENANT_001 for 2h of plan time
    Then tripwire tripwire_burn_fast does not act on tenant TENANT_001
    And the experiment rolled back and the steady state returned

