@plan:A.2 @severity:critical
Feature: Rollout per tenant: 24h bake, canary 20% → 50% → 100% soak, validation gates
  Plan §A.2: each expansion tenant bakes for 24h in staging under k6 load and chaos, then
  goes canary 20% (8h) → 50% (8h) → 100% (24h soak). Every stage is gated by the validation
  gates (replication lag ≤ 1m, conflicts ≤ 0.05%, RPO ≤ 5m and RTO ≤ 30m from a DR drill,
  privacy violations = 0, budget ≤ 80%); a failed gate stops promotion. At GA the tenant soaks
  until it has been green (SLO, cost, privacy) for 14 consecutive days; wave B does not start
  before wave A has. Evidence goes to each tenant's section of the bundle as it happens.

  Scenario Outline: Tenant <tenant> (wave <wave>) rolls out to active/active GA through gated stages
    Given tenant <tenant> of the target profile
    And every tenant of an earlier wave than <tenant> reached GA green
    And tenant <tenant> is at stage "staged" of its rollout
    When tenant <tenant> is promoted to stage "bake"
    And tenant <tenant> holds stage "bake" for 24h of plan time under k6 load and the "latency" experiment
    Then the validation gates of tenant <tenant> hold over stage "bake"
    And the experiment rolled back and the steady state returned
    When tenant <tenant> is promoted to stage "canary-20"
    And tenant <tenant> holds stage "canary-20" for 8h of plan time under k6 load
    Then the validation gates of tenant <tenant> hold over stage "canary-20"
    And the GLB sends 20% of tenant <tenant>'s traffic to its second region
    And the answers of tenant <tenant> through the GLB show the "canary-20" weight on its second region
    When a DR drill kills the serving region of tenant <tenant>
    Then the drill's RPO is within 5m
    And the drill's RTO is within 30m
    And the tenant's regions converged after the drill
    When the operator clears any GLB bias of tenant <tenant> left by the drill
    When tenant <tenant> is promoted to stage "canary-50"
    And tenant <tenant> holds stage "canary-50" for 8h of plan time under k6 load
    Then the validation gates of tenant <tenant> hold over stage "canary-50"
    And the GLB sends 50% of tenant <tenant>'s traffic to its second region
    And the answers of tenant <tenant> through the GLB show the "canary-50" weight on its second region
    When tenant <tenant> is promoted to stage "ga"
    And tenant <tenant> holds stage "ga" for 24h of plan time under k6 load
    Then the validation gates of tenant <tenant> hold over stage "ga"
    And tenant <tenant> runs active/active
    When tenant <tenant> soaks at GA for 14 consecutive days under k6 load
    Then tenant <tenant> was green on SLO, cost and privacy for 14 consecutive days

    Examples:
      | tenant     | wave |
      | TENANT_004 | A    |
      | TENANT_005 | B    |
