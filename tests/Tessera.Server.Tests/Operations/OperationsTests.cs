using System.Diagnostics.Metrics;
using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Tessera.Core.Diagnostics;
using Tessera.Server.Tests.Infrastructure;

namespace Tessera.Server.Tests.Operations;

public sealed class OperationsTests(SharedApp shared) : IClassFixture<SharedApp>
{
    private readonly TesseraApp _app = shared.App;

    [Fact]
    public async Task Healthz_answers_200_without_a_session()
    {
        using var client = _app.Anonymous();

        var response = await client.Get("/healthz");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Healthy", await response.ReadTextAsync());
    }

    [Fact]
    public async Task Readyz_answers_200_when_the_store_answers()
    {
        using var client = _app.Anonymous();

        var response = await client.Get("/readyz");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Healthy", await response.ReadTextAsync());
    }

    [Fact]
    public async Task Metrics_is_Prometheus_text_with_the_session_check_revocation_cache_and_event_stream_metrics()
    {
        var user = await _app.NewUserAsync(sessions: 2);
        using var anonymous = _app.Anonymous();
        using (var client = _app.WithToken(user.Sessions[0].Token))
        {
            await (await client.Get("/v1/auth/session")).AssertOkJsonAsync();

            // Right after a commit (the logins) checks read through to the file until the SQLite change watcher has
            // caught up with it, which on a busy machine may take a while: check until one is served from memory.
            for (var attempt = 0; ; attempt++)
            {
                await (await client.Get("/v1/auth/session")).AssertOkJsonAsync();
                if (Value(await (await anonymous.Get("/metrics")).ReadTextAsync(), "tessera_session_cache_hits_total") >= 1)
                {
                    break;
                }

                Assert.True(attempt < 200, "No check was served from memory within 10 s.");
                await Task.Delay(50, TestContext.Current.CancellationToken);
            }

            await (await client.Post("/v1/sessions/revoke-others")).AssertOkJsonAsync();
        }


        var response = await anonymous.Get("/metrics");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        var text = await response.ReadTextAsync();
        Assert.Contains("# TYPE tessera_session_checks_total counter", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE tessera_session_revocations_total counter", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE tessera_session_cache_hits_total counter", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE tessera_session_cache_misses_total counter", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE tessera_event_streams_open gauge", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE tessera_login_failures_total counter", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE tessera_login_throttled_total counter", text, StringComparison.Ordinal);
        Assert.True(Value(text, "tessera_session_checks_total{result=\"valid\"}") >= 2);
        Assert.True(Value(text, "tessera_session_revocations_total{reason=\"signed_out_other_devices\"}") >= 1);
        Assert.True(Value(text, "tessera_session_cache_hits_total") >= 1);
        Assert.True(Value(text, "tessera_session_cache_misses_total") >= 1);
        Assert.True(Value(text, "tessera_event_streams_open") >= 0);
        Assert.Contains("# TYPE tessera_session_cache_hit_ratio gauge", text, StringComparison.Ordinal);
        Assert.InRange(Value(text, "tessera_session_cache_hit_ratio"), double.Epsilon, 1);
        Assert.Contains("# TYPE tessera_session_cache_entries gauge", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE tessera_session_cache_trusted gauge", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE tessera_access_change_store_seconds histogram", text, StringComparison.Ordinal);
        Assert.True(Value(text, "tessera_access_change_store_seconds_count") >= 1);
        Assert.True(Value(text, "tessera_access_change_publish_seconds_count") >= 1, "the revoke of the other sessions was published");
    }

    [Fact]
    public async Task Every_revocation_reason_and_check_result_has_a_series()
    {
        using var anonymous = _app.Anonymous();

        var text = await (await anonymous.Get("/metrics")).ReadTextAsync();

        foreach (var reason in new[]
        {
            "signed_out", "signed_out_all_devices", "signed_out_other_devices", "revoked_by_user", "password_changed", "password_reset",
            "user_deactivated", "user_banned", "user_deleted", "revoked_by_admin", "token_revoked",
            "sign_in_code_replayed",
        })
        {
            Assert.Contains($"tessera_session_revocations_total{{reason=\"{reason}\"}}", text, StringComparison.Ordinal);
        }

        foreach (var result in new[] { "valid", "unauthenticated", "revoked", "expired", "account_deactivated", "account_banned", "account_deleted" })
        {
            Assert.Contains($"tessera_session_checks_total{{result=\"{result}\"}}", text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task The_counts_come_from_the_Tessera_meter_that_any_listener_such_as_an_OpenTelemetry_collector_reads()
    {
        var user = await _app.NewUserAsync();
        using var client = _app.WithToken(user.Token);
        using var checks = new MetricCollector<long>(
            _app.Services.GetRequiredService<IMeterFactory>(), TesseraMetrics.MeterName, TesseraMetrics.SessionChecks);
        using var anonymous = _app.Anonymous();

        await (await client.Get("/v1/auth/session")).AssertOkJsonAsync();
        checks.RecordObservableInstruments();
        var scraped = Value(await (await anonymous.Get("/metrics")).ReadTextAsync(), "tessera_session_checks_total{result=\"valid\"}");

        var valid = checks.GetMeasurementSnapshot().Last(m => m.MatchesTags(new KeyValuePair<string, object?>(TesseraMetrics.ResultTag, "valid")));
        Assert.True(valid.Value >= 1);
        Assert.True(scraped >= valid.Value, $"/metrics shows {scraped} valid checks, the meter {valid.Value} before it");
    }

    [Fact]
    public async Task The_OpenAPI_document_is_JSON_with_the_v1_paths()
    {
        using var client = _app.Anonymous();

        var response = await client.Get("/openapi/v1.json");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var document = JsonDocument.Parse(await response.ReadTextAsync()).RootElement;
        Assert.StartsWith("3.", document.Str("openapi"), StringComparison.Ordinal);
        var paths = document.GetProperty("paths").EnumerateObject().Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var path in new[]
        {
            "/v1/auth/register", "/v1/auth/login", "/v1/auth/logout", "/v1/auth/session", "/v1/auth/password/change",
            "/v1/auth/password/reset-request", "/v1/auth/password/reset", "/v1/auth/me",
            "/v1/sessions", "/v1/sessions/{id}", "/v1/sessions/revoke-others", "/v1/sessions/revoke-all",
            "/v1/events",
            "/v1/admin/users", "/v1/admin/users/{id}", "/v1/admin/users/{id}/sessions", "/v1/admin/users/{id}/sessions/{sessionId}",
            "/v1/admin/users/{id}/deactivate", "/v1/admin/users/{id}/reactivate", "/v1/admin/users/{id}/ban", "/v1/admin/users/{id}/unban",
            "/v1/admin/users/bulk", "/v1/admin/audit",
        })
        {
            Assert.True(paths.Contains(path) || paths.Contains(path.TrimEnd('/') + "/"), $"the OpenAPI document lacks {path}; it has {string.Join(", ", paths.Order(StringComparer.Ordinal))}");
        }
    }

    [Fact]
    public async Task The_OpenAPI_document_describes_the_login_operation_with_its_methods()
    {
        using var client = _app.Anonymous();

        var document = JsonDocument.Parse(await (await client.Get("/openapi/v1.json")).ReadTextAsync()).RootElement;

        var paths = document.GetProperty("paths");
        Assert.True(paths.GetProperty("/v1/auth/login").TryGetProperty("post", out _));
        Assert.True(paths.GetProperty("/v1/sessions/{id}").TryGetProperty("delete", out _));
        Assert.True(paths.GetProperty("/v1/admin/users/{id}").TryGetProperty("get", out _));
        Assert.True(paths.GetProperty("/v1/admin/users/{id}").TryGetProperty("delete", out _));
    }

    private static double Value(string metrics, string series)
    {
        return PrometheusText.Sample(metrics, series) ?? throw new Xunit.Sdk.XunitException($"no series {series} in /metrics");
    }
}
