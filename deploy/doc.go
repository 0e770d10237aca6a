// Package deploy holds no code: its tests check the operators' files
// beside it against the program they serve.
//
//   - prometheus/alerts.yml passes promtool check rules, and its unit tests
//     (prometheus/alerts_test.yml) pass promtool test rules;
//   - grafana/switchboard.json is a dashboard whose every panel has a
//     query, and whose queries are valid PromQL;
//   - every metric the dashboard, the rules and their tests name is one the
//     code registers: the tests call each package's real NewMetrics (and
//     the runtime collectors the server adds) on a recording registerer and
//     read the names from the collectors' descriptions, so a renamed metric
//     fails here rather than leaving an empty panel or a silent alert;
//   - systemd/switchboard.service passes systemd-analyze verify, with its
//     ExecStart pointed at a freshly built binary whose serve command takes
//     the --config flag the unit passes.
//
// Under CI=true a missing promtool or systemd-analyze fails the test;
// elsewhere it is skipped with the package to install (.ci/install-deps
// installs both).
package deploy
