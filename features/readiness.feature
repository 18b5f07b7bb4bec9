@plan:A.1 @workstream:aa-expansion
Feature: Tenant readiness checklist (plan §A.1)
  Before TENANT_004 and TENANT_005 start their A/A rollout, every item of the readiness
  checklist must hold on the target: not only present in the tenant's readiness record, but
  shown by real traffic. The tenants come from the Examples, the numbers from the QI catalog.

  Scenario Outline: Traffic profile and SLO baseline hold over real traffic, which is persisted-only
    Given tenant <tenant> of the target profile
    Then the readiness record of tenant <tenant> holds a traffic profile and the SLO baseline of the target profile
    When k6 sends 3000 requests of tenant <tenant>'s traffic profile
    Then the measured traffic of tenant <tenant> meets its SLO baseline
    And persisted-only compliance of tenant <tenant> is at least 99.9%
    And the target counted tenant <tenant>'s requests as persisted at least 99.9% of the time

    Examples:
      | tenant     |
      | TENANT_004 |
      | TENANT_005 |

  Scenario Outline: Residency tags are verified by the regions outside the jurisdiction
    Given tenant <tenant> of the target profile
    When tenant <tenant> writes data through the GLB
    And a write of tenant <tenant> is sent directly to each region outside its jurisdiction
    Then every such write of tenant <tenant> is denied with 451 and counted as a residency denial
    And none of tenant <tenant>'s data is found in a region outside its jurisdiction
    And once replication has had a lag-gate window, no region outside tenant <tenant>'s jurisdiction holds its rows

    Examples:
      | tenant     |
      | TENANT_004 |
      | TENANT_005 |

  Scenario Outline: Data volume and hot-key cache plan, with hot keys served from the cache
    Given tenant <tenant> of the target profile
    Then the readiness record of tenant <tenant> holds a data volume and a hot-key cache plan
    When the hot keys of tenant <tenant> are read repeatedly past their cache TTL
    Then the cache serves most reads of tenant <tenant>'s hot keys as hits

    Examples:
      | tenant     |
      | TENANT_004 |
      | TENANT_005 |

  Scenario Outline: Query budgets are set and enforced
    Given tenant <tenant> of the target profile
    Then the readiness record of tenant <tenant> sets a query budget
    When a burst past a lowered query budget of tenant <tenant> is sent to its serving region
    Then the region refused the excess of tenant <tenant> with 429 and counted every refusal
    And the query budget of tenant <tenant> is restored

    Examples:
      | tenant     |
      | TENANT_004 |
      | TENANT_005 |

  Scenario Outline: Enrolled in the monthly DR drill schedule (JSON)
    Given tenant <tenant> of the target profile
    Then tenant <tenant> is enrolled in the monthly DR drill schedule in JSON

    Examples:
      | tenant     |
      | TENANT_004 |
      | TENANT_005 |
