@plan:DoD @severity:blocker
Feature: Definition of Done, judged from the evidence recorded so far
  The plan's Definition of Done: TENANT_004 and TENANT_005 at A/A GA with 14 consecutive days
  green (SLO, cost, privacy); the Tier-3 pilot completes with zero P1s, autonomy success rate
  ≥ 99.9%, compensation rate ≤ 0.5% and simulation false-negative rate ≤ 0.1%; evidence
  bundles updated, GA delta report appended, QI catalog v1 frozen and referenced.
  Each item is judged from this session's evidence chain as recorded up to the scenario, with
  the frozen QI catalog. Missing evidence is never a pass, and evidence recorded at a time
  scale other than 1 (a rehearsal) is reported but can never satisfy an item.

  Scenario Outline: <expansion_tenant> is at active/active GA
    Given the Definition of Done judged from the evidence recorded so far
    Then tenant <expansion_tenant> is at active/active GA through its gated rollout

    Examples:
      | expansion_tenant |
      | TENANT_004       |
      | TENANT_005       |

  Scenario Outline: <expansion_tenant> has been green for 14 consecutive days
    Given the Definition of Done judged from the evidence recorded so far
    Then tenant <expansion_tenant> has been green on SLO, cost and privacy for 14 consecutive days

    Examples:
      | expansion_tenant |
      | TENANT_004       |
      | TENANT_005       |

  Scenario: The Tier-3 pilot completes with zero P1s
    Given the Definition of Done judged from the evidence recorded so far
    Then the Tier-3 pilot on tenant TENANT_001 completed with 0 P1 incidents

  Scenario: The pilot's autonomy success rate is at least 99.9%
    Given the Definition of Done judged from the evidence recorded so far
    Then the pilot's autonomy success rate is at least 99.9%

  Scenario: The pilot's compensation rate is at most 0.5%
    Given the Definition of Done judged from the evidence recorded so far
    Then the pilot's compensation rate is at most 0.5%

  Scenario: The pilot's simulation false-negative rate is at most 0.1%
    Given the Definition of Done judged from the evidence recorded so far
    Then the pilot's simulation false-negative rate is at most 0.1%

  Scenario: The evidence bundle is updated, signed, with its chain intact
    Given the Definition of Done judged from the evidence recorded so far
    Then the evidence chain is intact and the bundle is signed with the user's key

  Scenario: The GA delta report is appended
    Given the Definition of Done judged from the evidence recorded so far
    Then the GA delta report is appended to the evidence

  Scenario: The QI catalog v1 is frozen and referenced
    Given the Definition of Done judged from the evidence recorded so far
    Then the evidence references the frozen QI catalog v1 by digest
