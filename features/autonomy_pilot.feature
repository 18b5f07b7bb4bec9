@workstream:tier3-pilot
Feature: Tier-3 scoped autonomy pilot (plan §B)
  The pilot tenant runs at Tier 3: read-only derived entity updates, never export, retention
  or cross-tenant work; every enactment is simulated in a shadow copy first, approved by a
  human with a signed single-use token, audited, and can be compensated. Every scenario drives
  the plan's runbook (§B.3) through the target's control CLI and checks the effect on the
  tenant's data as the data plane serves it, never the command's own answer. Scenarios put the
  pilot back at T3, read-only, with HITL when they end.

  @plan:B.1 @severity:critical
  Scenario Outline: Tier 3 is granted only within the pilot's scope and controls
    Given tenant <tenant> of the target profile
    When autonomy of tenant <tenant> is set to tier T3, scope read-only, with HITL required
    Then the target refuses tier T3 for tenant <tenant> with scope read-write
    And the target refuses tier T3 for tenant <tenant> without HITL
    And the target refuses tier T3 for every tenant of the profile that is not the pilot
    And an enactment on tenant <tenant> without an approval token is refused
    And every enactment the suite started on tenant <tenant> has exactly one matching audit record

    Examples:
      | tenant     |
      | TENANT_001 |

  @plan:B.1 @severity:critical
  Scenario Outline: The <op_set> op-set is outside the read-only scope and refused
    Given the autonomy pilot runs on tenant <tenant> at tier T3, read-only, with HITL
    When the "<op_set>" op-set is simulated on tenant <tenant>
    Then the target refused the op-set by policy and produced no simulation record

    Examples:
      | tenant     | op_set            |
      | TENANT_001 | export_entities   |
      | TENANT_001 | retention_purge   |
      | TENANT_001 | cross_tenant_sync |

  @plan:B.3 @severity:critical
  Scenario Outline: Simulate, approve, enact: the derived data follows its base and is audited
    Given the autonomy pilot runs on tenant <tenant> at tier T3, read-only, with HITL
    And the base data of tenant <tenant> changed in every region
    When the derived updates of tenant <tenant> are simulated
    And a human approves the simulation of tenant <tenant>
    And the approved simulation is enacted on tenant <tenant>
    Then the enactment on tenant <tenant> succeeded
    And the derived data of tenant <tenant> matches its base in every region
    And the enactment audit record is attached and matches the target's audit log
    And every enactment the suite started on tenant <tenant> has exactly one matching audit record

    Examples:
      | tenant     |
      | TENANT_001 |

  @plan:B.1 @severity:critical
  Scenario Outline: An enactment with a <token> approval token is refused
    Given the autonomy pilot runs on tenant <tenant> at tier T3, read-only, with HITL
    And the base data of tenant <tenant> changed in every region
    When the derived updates of tenant <tenant> are simulated
    And the simulation of tenant <tenant> is enacted with a <token> approval token
    Then the enactment is refused for a <token> token and counted by the target
    And the derived data of tenant <tenant> is unchanged by the refused enactment
    And every enactment the suite started on tenant <tenant> has exactly one matching audit record

    Examples:
      | tenant     | token            |
      | TENANT_001 | missing          |
      | TENANT_001 | forged           |
      | TENANT_001 | expired          |
      | TENANT_001 | replayed         |
      | TENANT_001 | wrong-tenant     |
      | TENANT_001 | wrong-simulation |

  @plan:B.3 @severity:critical
  Scenario Outline: Compensation restores the derived data as it was before the enactment
    Given the autonomy pilot runs on tenant <tenant> at tier T3, read-only, with HITL
    And the base data of tenant <tenant> changed in every region
    When the derived updates of tenant <tenant> are simulated
    And a human approves the simulation of tenant <tenant>
    And the approved simulation is enacted on tenant <tenant>
    Then the enactment on tenant <tenant> succeeded
    When the enactment on tenant <tenant> is compensated
    Then the derived data of tenant <tenant> is back to what it was before the enactment
    And every enactment the suite started on tenant <tenant> has exactly one matching audit record

    Examples:
      | tenant     |
      | TENANT_001 |

  @plan:B.1 @severity:critical
  Scenario Outline: A HITL override aborts autonomy until it is set again
    Given the autonomy pilot runs on tenant <tenant> at tier T3, read-only, with HITL
    And the base data of tenant <tenant> changed in every region
    When the derived updates of tenant <tenant> are simulated
    And a human approves the simulation of tenant <tenant>
    And an operator overrides autonomy on tenant <tenant>
    And the approved simulation is enacted on tenant <tenant>
    Then the enactment on tenant <tenant> is refused by policy
    And the derived data of tenant <tenant> is unchanged by the refused enactment
    And every enactment the suite started on tenant <tenant> has exactly one matching audit record

    Examples:
      | tenant     |
      | TENANT_001 |

  @plan:B.5 @severity:critical
  Scenario Outline: Backout to T2 disables enactments and keeps the simulator
    Given the autonomy pilot runs on tenant <tenant> at tier T3, read-only, with HITL
    And the base data of tenant <tenant> changed in every region
    When autonomy of tenant <tenant> is downgraded to tier T2
    And the derived updates of tenant <tenant> are simulated
    And a human approves the simulation of tenant <tenant>
    And the approved simulation is enacted on tenant <tenant>
    Then the simulation of tenant <tenant> predicted the derived data its base implies
    And the enactment on tenant <tenant> is refused by policy
    And the derived data of tenant <tenant> is unchanged by the refused enactment
    And a lag-gate window later no derived row of tenant <tenant> changed in any of its regions

    Examples:
      | tenant     |
      | TENANT_001 |

  @plan:B.2 @severity:critical
  Scenario Outline: The pilot's KPIs over a campaign of autonomy cycles with derived-data drift
    Given the autonomy pilot runs on tenant <tenant> at tier T3, read-only, with HITL
    When a campaign of autonomy cycles runs on tenant <tenant> with derived-data drift in <drift> of them
    And k6 reads the data of tenant <tenant> for 1h of plan time
    Then the campaign caused no privacy incident and no P1 on tenant <tenant>
    And every enactment the suite started on tenant <tenant> has exactly one matching audit record
    And the campaign on tenant <tenant> stayed within its cost budget
    And no SLO of tenant <tenant> regressed against its baseline
    And the simulation false-negative rate of tenant <tenant> is at most 0.1%
    And the compensation rate of tenant <tenant> is at most 0.5%
    And the autonomy success rate of tenant <tenant> is at least 99.9%

    Examples:
      | tenant     | drift |
      | TENANT_001 | 2%    |

  @plan:B.4 @severity:critical
  Scenario Outline: A <burn> error-budget burn halts autonomy on <tenant>
    Given the autonomy pilot runs on tenant <tenant> at tier T3, read-only, with HITL
    And the error budget of tenant <tenant> is put back after this scenario
    And k6 keeps read-only traffic flowing on tenant <tenant> for 2h of plan time
    When the "error-budget-burn" experiment runs on tenant <tenant> for 1h of plan time
    Then within 15m autonomy on tenant <tenant> is halted by <qi_id>
    And an approved enactment on tenant <tenant> is refused while autonomy is halted
    And the experiment rolled back and the steady state returned
    And every enactment the suite started on tenant <tenant> has exactly one matching audit record

    Examples:
      | tenant     | burn | qi_id              |
      | TENANT_001 | fast | tripwire_burn_fast |
      | TENANT_001 | slow | tripwire_burn_slow |

  @plan:B.4 @severity:critical
  Scenario Outline: A risk-score anomaly aborts the enactment on <tenant>
    Given the autonomy pilot runs on tenant <tenant> at tier T3, read-only, with HITL
    And the base data of tenant <tenant> changed in every region
    When the derived updates of tenant <tenant> are simulated
    And a human approves the simulation of tenant <tenant>
    And the approved simulation is enacted on tenant <tenant> during the "base-data-burst" experiment on region <region> for 10m of plan time
    Then within 10m the enactment on tenant <tenant> is aborted by tripwire_risk_anomaly
    And the derived data of tenant <tenant> is unchanged by the refused enactment
    And the experiment rolled back and the steady state returned
    And every enactment the suite started on tenant <tenant> has exactly one matching audit record

    Examples:
      | tenant     | region  |
      | TENANT_001 | eu-west |

  @plan:B.4 @severity:critical
  Scenario Outline: A residency denial aborts the enactment on <tenant>
    Given the autonomy pilot runs on tenant <tenant> at tier T3, read-only, with HITL
    And the base data of tenant <tenant> changed in every region
    When the derived updates of tenant <tenant> are simulated
    And a human approves the simulation of tenant <tenant>
    And the approved simulation is enacted on tenant <tenant> during the "placement-drift" experiment on region <region> for 10m of plan time
    Then within 10m the enactment on tenant <tenant> is aborted by tripwire_residency_denial
    And the derived data of tenant <tenant> is unchanged by the refused enactment
    And the experiment rolled back and the steady state returned
    And every enactment the suite started on tenant <tenant> has exactly one matching audit record

    Examples:
      | tenant     | region  |
      | TENANT_001 | us-east |
