@plan:A.4 @workstream:aa-expansion
Feature: Backout per tenant (plan §A.4)
  GLB bias to a single region; disable TTL auto-tune; keep persisted-only; replay idempotent
  ops; preserve provenance logs. Each scenario backs the tenant out through the control CLI,
  shows the effect on real requests, and undoes the backout so scenarios stay independent.

  Scenario Outline: A GLB bias sends all of the tenant's traffic to a single region
    Given tenant <tenant> of the target profile
    When the GLB is biased for tenant <tenant> to a single region
    And requests of tenant <tenant> go through the GLB
    Then every request of tenant <tenant> landed in the biased region
    And the answers of tenant <tenant> through the GLB show all of its traffic on the biased region
    When the backout of tenant <tenant> is undone
    Then tenant <tenant>'s traffic lands where it did before the backout

    Examples:
      | tenant     |
      | TENANT_004 |
      | TENANT_005 |

  Scenario Outline: With TTL auto-tune disabled the cache TTL no longer changes under traffic
    Given tenant <tenant> of the target profile
    When TTL auto-tune is disabled for tenant <tenant>
    And the hot keys of tenant <tenant> are read repeatedly past their cache TTL
    Then the cache TTL of tenant <tenant> stayed constant under that traffic
    When TTL auto-tune is re-enabled for tenant <tenant>
    And the hot keys of tenant <tenant> are read repeatedly past their cache TTL
    Then the cache TTL of tenant <tenant> grew under that traffic

    Examples:
      | tenant     |
      | TENANT_004 |
      | TENANT_005 |

  Scenario Outline: Persisted-only stays enforced during a backout
    Given tenant <tenant> of the target profile
    And tenant <tenant> is backed out to its serving region with TTL auto-tune disabled
    When ad-hoc queries of tenant <tenant> are sent through the GLB and to each of its regions
    Then every ad-hoc query of tenant <tenant> is refused with 403 persisted_only and counted
    And persisted queries of tenant <tenant> are still served

    Examples:
      | tenant     |
      | TENANT_004 |
      | TENANT_005 |

  Scenario Outline: Idempotent ops are replayed, and replaying again changes nothing
    # every replay path of the contract: `ops replay`, and the data plane's Idempotency-Key
    # through the GLB and at each region's own URL (TENANT_002 is active/active: both of its
    # regions take writes, so a replay that lands on the one that only replicated it counts)
    Given tenant <tenant> of the target profile
    And tenant <tenant> is backed out to its serving region with TTL auto-tune disabled
    When tenant <tenant> writes data through the GLB
    And the ops of tenant <tenant> are replayed twice
    Then the second replay of tenant <tenant> replayed nothing and its data is unchanged
    And re-sending tenant <tenant>'s acknowledged writes with their op ids, twice through the GLB and twice to each of its regions, applies none again

    Examples:
      | tenant     |
      | TENANT_004 |
      | TENANT_005 |
      | TENANT_002 |

  Scenario Outline: Provenance logs are preserved through the backout
    Given tenant <tenant> of the target profile
    And the provenance log of tenant <tenant> is read before the backout
    When tenant <tenant> is backed out to its serving region with TTL auto-tune disabled
    And the backout of tenant <tenant> is undone
    Then the provenance log of tenant <tenant> read before the backout is a byte-identical prefix of the log after it, whose chain is intact

    Examples:
      | tenant     |
      | TENANT_004 |
      | TENANT_005 |
