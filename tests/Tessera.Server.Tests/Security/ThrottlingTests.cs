using System.Net;
using Microsoft.Extensions.Time.Testing;
using Tessera.Server.Tests.Infrastructure;

namespace Tessera.Server.Tests.Security;

/// <summary>Per-IP and per-account throttling of logins, each on an app with its own limits and a clock the test moves.</summary>
public sealed class ThrottlingTests
{
    [Fact]
    public async Task The_fourth_login_in_a_minute_from_one_IP_gets_429_rate_limited_with_Retry_After()
    {
        await using var throttled = await Throttled.StartAsync("LoginPerIpPerMinute", 3);
        var (clock, client, email) = (throttled.Clock, throttled.Client, throttled.Email);

        for (var i = 0; i < 3; i++)
        {
            await (await client.AttemptLogin(email, "203.0.113.1")).AssertOkJsonAsync();
        }

        var fourth = await client.AttemptLogin(email, "203.0.113.1");

        var problem = await fourth.AssertProblemAsync(HttpStatusCode.TooManyRequests, "rate_limited");
        var retryAfter = fourth.Headers.RetryAfter;
        Assert.NotNull(retryAfter);
        var seconds = retryAfter.Delta?.TotalSeconds ?? (retryAfter.Date!.Value - clock.GetUtcNow()).TotalSeconds;
        Assert.InRange(seconds, 1, 60);
        Assert.False(string.IsNullOrWhiteSpace(problem.Str("detail")));
    }

    [Fact]
    public async Task Addresses_of_one_IPv6_64_network_share_one_login_budget_and_another_network_has_its_own()
    {
        await using var throttled = await Throttled.StartAsync("LoginPerIpPerMinute", 3);
        var (client, email) = (throttled.Client, throttled.Email);

        await (await client.AttemptLogin(email, "2001:db8:1:2::1")).AssertOkJsonAsync();
        await (await client.AttemptLogin(email, "2001:db8:1:2:aaaa::7")).AssertOkJsonAsync();
        await (await client.AttemptLogin(email, "2001:db8:1:2:ffff:ffff:ffff:ffff")).AssertOkJsonAsync();

        var fourthFromTheSameNetwork = await client.AttemptLogin(email, "2001:db8:1:2:1234::42");
        await fourthFromTheSameNetwork.AssertProblemAsync(HttpStatusCode.TooManyRequests, "rate_limited");
        await (await client.AttemptLogin(email, "2001:db8:1:3::1")).AssertOkJsonAsync();
    }

    [Fact]
    public async Task The_IP_limit_counts_failed_attempts_too_and_lifts_after_a_minute()
    {
        await using var throttled = await Throttled.StartAsync("LoginPerIpPerMinute", 3);
        var (clock, client, email) = (throttled.Clock, throttled.Client, throttled.Email);

        await (await client.AttemptLogin(TesseraApp.NewEmail("nobody"), "203.0.113.2")).AssertProblemAsync(HttpStatusCode.Unauthorized, "invalid_credentials");
        await (await client.AttemptLogin(TesseraApp.NewEmail("nobody"), "203.0.113.2")).AssertProblemAsync(HttpStatusCode.Unauthorized, "invalid_credentials");
        await (await client.AttemptLogin(email, "203.0.113.2", "wrong-password-1")).AssertProblemAsync(HttpStatusCode.Unauthorized, "invalid_credentials");
        await (await client.AttemptLogin(email, "203.0.113.2")).AssertProblemAsync(HttpStatusCode.TooManyRequests, "rate_limited");

        clock.Advance(TimeSpan.FromSeconds(61));

        await (await client.AttemptLogin(email, "203.0.113.2")).AssertOkJsonAsync();
    }

    [Fact]
    public async Task Another_IP_is_not_limited_by_the_first()
    {
        await using var throttled = await Throttled.StartAsync("LoginPerIpPerMinute", 3);
        var (client, email) = (throttled.Client, throttled.Email);
        for (var i = 0; i < 3; i++)
        {
            await client.AttemptLogin(email, "203.0.113.3");
        }

        await (await client.AttemptLogin(email, "203.0.113.3")).AssertProblemAsync(HttpStatusCode.TooManyRequests, "rate_limited");

        await (await client.AttemptLogin(email, "198.51.100.99")).AssertOkJsonAsync();
    }

    [Fact]
    public async Task After_three_wrong_passwords_the_next_attempt_waits_even_with_the_right_password()
    {
        await using var throttled = await Throttled.StartAsync("FailedLoginsBeforeBackoff", 3);
        var (clock, client, email) = (throttled.Clock, throttled.Client, throttled.Email);

        for (var i = 0; i < 3; i++)
        {
            await (await client.AttemptLogin(email, $"203.0.113.{10 + i}", "wrong-password-1")).AssertProblemAsync(HttpStatusCode.Unauthorized, "invalid_credentials");
        }

        // A different IP does not help: the backoff belongs to the account.
        var blocked = await client.AttemptLogin(email, "203.0.113.50");

        await blocked.AssertProblemAsync(HttpStatusCode.TooManyRequests, "rate_limited");
        Assert.NotNull(blocked.Headers.RetryAfter);
        var wait = blocked.Headers.RetryAfter.Delta ?? TimeSpan.Zero;
        Assert.True(wait >= TimeSpan.FromSeconds(1), $"Retry-After {wait}");

        clock.Advance(wait + TimeSpan.FromSeconds(1));

        await (await client.AttemptLogin(email, "203.0.113.50")).AssertOkJsonAsync();
    }

    [Fact]
    public async Task The_account_backoff_grows_with_more_failures_and_a_success_resets_it()
    {
        await using var throttled = await Throttled.StartAsync("FailedLoginsBeforeBackoff", 3);
        var (clock, client, email) = (throttled.Clock, throttled.Client, throttled.Email);
        for (var i = 0; i < 3; i++)
        {
            await client.AttemptLogin(email, "203.0.113.20", "wrong-password-1");
        }

        var first = (await client.AttemptLogin(email, "203.0.113.20")).Headers.RetryAfter?.Delta ?? TimeSpan.Zero;
        clock.Advance(first + TimeSpan.FromMilliseconds(500));
        await (await client.AttemptLogin(email, "203.0.113.20", "wrong-password-1")).AssertProblemAsync(HttpStatusCode.Unauthorized, "invalid_credentials");
        var second = (await client.AttemptLogin(email, "203.0.113.20")).Headers.RetryAfter?.Delta ?? TimeSpan.Zero;

        Assert.True(second > first, $"the wait did not grow: {first} then {second}");

        clock.Advance(second + TimeSpan.FromSeconds(1));
        await (await client.AttemptLogin(email, "203.0.113.20")).AssertOkJsonAsync();
        await (await client.AttemptLogin(email, "203.0.113.20", "wrong-password-1")).AssertProblemAsync(HttpStatusCode.Unauthorized, "invalid_credentials");
        await (await client.AttemptLogin(email, "203.0.113.20")).AssertOkJsonAsync();
    }

    [Fact]
    public async Task Backoff_on_one_account_does_not_block_another()
    {
        await using var throttled = await Throttled.StartAsync("FailedLoginsBeforeBackoff", 3);
        var (client, attacked) = (throttled.Client, throttled.Email);
        var bystander = TesseraApp.NewEmail("bystander");
        await throttled.App.RegisterAsync(bystander);
        for (var i = 0; i < 3; i++)
        {
            await client.AttemptLogin(attacked, "203.0.113.30", "wrong-password-1");
        }

        await (await client.AttemptLogin(attacked, "203.0.113.30")).AssertProblemAsync(HttpStatusCode.TooManyRequests, "rate_limited");
        await (await client.AttemptLogin(bystander, "203.0.113.30")).AssertOkJsonAsync();
    }

    [Fact]
    public async Task The_account_key_ignores_the_case_of_the_email()
    {
        await using var throttled = await Throttled.StartAsync("FailedLoginsBeforeBackoff", 3);
        var (client, email) = (throttled.Client, throttled.Email);

        await client.AttemptLogin(email, "203.0.113.40", "wrong-password-1");
        await client.AttemptLogin(email.ToUpperInvariant(), "203.0.113.41", "wrong-password-1");
        await client.AttemptLogin($" {email} ", "203.0.113.42", "wrong-password-1");

        await (await client.AttemptLogin(email, "203.0.113.43")).AssertProblemAsync(HttpStatusCode.TooManyRequests, "rate_limited");
    }

    [Fact]
    public async Task Throttled_logins_are_counted_in_the_metrics()
    {
        await using var throttled = await Throttled.StartAsync("LoginPerIpPerMinute", 1);
        var (client, email) = (throttled.Client, throttled.Email);
        await client.AttemptLogin(email, "203.0.113.60");
        await (await client.AttemptLogin(email, "203.0.113.60")).AssertProblemAsync(HttpStatusCode.TooManyRequests, "rate_limited");

        var metrics = await (await client.Get("/metrics")).ReadTextAsync();

        var throttledLogins = PrometheusText.Sample(metrics, "tessera_login_throttled_total");
        Assert.True(throttledLogins >= 1, $"tessera_login_throttled_total is {throttledLogins}");
    }

    [Fact]
    public async Task After_three_wrong_current_passwords_a_password_change_waits_even_with_the_right_one()
    {
        await using var throttled = await Throttled.StartAsync("FailedPasswordChangesBeforeBackoff", 3);
        var (clock, email) = (throttled.Clock, throttled.Email);
        using var client = throttled.App.WithToken((await throttled.App.LoginAsync(email)).Token);
        for (var i = 0; i < 3; i++)
        {
            await (await client.PostFrom("/v1/auth/password/change", new { currentPassword = $"guess-number-{i}", newPassword = "a-new-password-1" }, $"203.0.113.{80 + i}"))
                .AssertProblemAsync(HttpStatusCode.BadRequest, "wrong_password");
        }

        var held = await client.PostFrom("/v1/auth/password/change", new { currentPassword = TesseraApp.Password, newPassword = "a-new-password-1" }, "203.0.113.90");

        var problem = await held.AssertProblemAsync(HttpStatusCode.TooManyRequests, "rate_limited");
        Assert.False(string.IsNullOrWhiteSpace(problem.Str("detail")));
        var wait = held.Headers.RetryAfter?.Delta ?? TimeSpan.Zero;
        Assert.True(wait >= TimeSpan.FromSeconds(1), $"Retry-After {wait}");
        clock.Advance(wait + TimeSpan.FromSeconds(1));
        await (await client.PostFrom("/v1/auth/password/change", new { currentPassword = TesseraApp.Password, newPassword = "a-new-password-1" }, "203.0.113.90"))
            .AssertOkJsonAsync(HttpStatusCode.NoContent);
    }

    [Fact]
    public async Task Password_changes_from_one_IP_are_limited_per_minute()
    {
        await using var throttled = await Throttled.StartAsync("PasswordChangesPerIpPerMinute", 2);
        using var client = throttled.App.WithToken((await throttled.App.LoginAsync(throttled.Email)).Token);
        object Guess(int i) => new { currentPassword = $"guess-number-{i}", newPassword = "a-new-password-1" };
        await (await client.PostFrom("/v1/auth/password/change", Guess(1), "203.0.113.91")).AssertProblemAsync(HttpStatusCode.BadRequest, "wrong_password");
        await (await client.PostFrom("/v1/auth/password/change", Guess(2), "203.0.113.91")).AssertProblemAsync(HttpStatusCode.BadRequest, "wrong_password");

        var third = await client.PostFrom("/v1/auth/password/change", Guess(3), "203.0.113.91");

        await third.AssertProblemAsync(HttpStatusCode.TooManyRequests, "rate_limited");
        Assert.NotNull(third.Headers.RetryAfter);
    }

    [Fact]
    public async Task The_fourth_registration_in_an_hour_from_one_IP_gets_429_and_another_IP_still_registers()
    {
        await using var throttled = await Throttled.StartAsync("RegistrationsPerIpPerHour", 3);
        var (clock, client) = (throttled.Clock, throttled.Client);
        object NewAccount() => new { email = TesseraApp.NewEmail("signup"), password = TesseraApp.Password };
        for (var i = 0; i < 3; i++)
        {
            await (await client.PostFrom("/v1/auth/register", NewAccount(), "203.0.113.100")).AssertOkJsonAsync(HttpStatusCode.Created);
        }

        var fourth = await client.PostFrom("/v1/auth/register", NewAccount(), "203.0.113.100");

        await fourth.AssertProblemAsync(HttpStatusCode.TooManyRequests, "rate_limited");
        var wait = fourth.Headers.RetryAfter?.Delta ?? TimeSpan.Zero;
        Assert.InRange(wait, TimeSpan.FromMinutes(59), TimeSpan.FromHours(1));
        await (await client.PostFrom("/v1/auth/register", NewAccount(), "203.0.113.101")).AssertOkJsonAsync(HttpStatusCode.Created);
        clock.Advance(wait + TimeSpan.FromSeconds(1));
        await (await client.PostFrom("/v1/auth/register", NewAccount(), "203.0.113.100")).AssertOkJsonAsync(HttpStatusCode.Created);
    }

    [Fact]
    public async Task Registering_one_email_again_and_again_is_limited_from_any_IP()
    {
        await using var throttled = await Throttled.StartAsync("RegistrationsPerEmailPerHour", 2);
        var client = throttled.Client;
        var body = new { email = TesseraApp.NewEmail("twice"), password = TesseraApp.Password };
        await (await client.PostFrom("/v1/auth/register", body, "203.0.113.110")).AssertOkJsonAsync(HttpStatusCode.Created);
        await (await client.PostFrom("/v1/auth/register", body, "203.0.113.111")).AssertProblemAsync(HttpStatusCode.Conflict, "email_taken");

        await (await client.PostFrom("/v1/auth/register", body, "203.0.113.112")).AssertProblemAsync(HttpStatusCode.TooManyRequests, "rate_limited");
    }

    [Fact]
    public async Task Reset_requests_for_one_account_are_limited_from_any_IP_and_the_owner_gets_no_more_messages()
    {
        await using var throttled = await Throttled.StartAsync("ResetRequestsPerEmailPerHour", 3);
        var (app, client, email) = (throttled.App, throttled.Client, throttled.Email);
        for (var i = 0; i < 3; i++)
        {
            await (await client.PostFrom("/v1/auth/password/reset-request", new { email }, $"203.0.113.{120 + i}")).AssertOkJsonAsync(HttpStatusCode.Accepted);
        }

        var fourth = await client.PostFrom("/v1/auth/password/reset-request", new { email }, "203.0.113.130");

        await fourth.AssertProblemAsync(HttpStatusCode.TooManyRequests, "rate_limited");
        Assert.NotNull(fourth.Headers.RetryAfter);
        await app.ResetsHandledAsync();
        Assert.Equal(3, app.OutboxCount);

        // An unknown email is limited the same way: the 429 does not tell whether an account exists.
        var unknown = TesseraApp.NewEmail("nobody");
        for (var i = 0; i < 3; i++)
        {
            await (await client.PostFrom("/v1/auth/password/reset-request", new { email = unknown }, "203.0.113.131")).AssertOkJsonAsync(HttpStatusCode.Accepted);
        }

        await (await client.PostFrom("/v1/auth/password/reset-request", new { email = unknown }, "203.0.113.131")).AssertProblemAsync(HttpStatusCode.TooManyRequests, "rate_limited");
    }

    [Fact]
    public async Task Reset_requests_from_one_IP_are_limited_across_accounts()
    {
        await using var throttled = await Throttled.StartAsync("ResetRequestsPerIpPerHour", 2);
        var client = throttled.Client;
        await (await client.PostFrom("/v1/auth/password/reset-request", new { email = TesseraApp.NewEmail("a") }, "203.0.113.140")).AssertOkJsonAsync(HttpStatusCode.Accepted);
        await (await client.PostFrom("/v1/auth/password/reset-request", new { email = TesseraApp.NewEmail("b") }, "203.0.113.140")).AssertOkJsonAsync(HttpStatusCode.Accepted);

        var third = await client.PostFrom("/v1/auth/password/reset-request", new { email = throttled.Email }, "203.0.113.140");

        await third.AssertProblemAsync(HttpStatusCode.TooManyRequests, "rate_limited");
        await (await client.PostFrom("/v1/auth/password/reset-request", new { email = throttled.Email }, "203.0.113.141")).AssertOkJsonAsync(HttpStatusCode.Accepted);
    }

    /// <summary>An app whose clock the test moves, with one throttling limit set and one registered user.</summary>
    private sealed class Throttled : IAsyncDisposable
    {
        private Throttled(FakeTimeProvider clock, TesseraApp app, string email)
        {
            (Clock, App, Email) = (clock, app, email);
            Client = app.Anonymous();
        }

        public FakeTimeProvider Clock { get; }

        public TesseraApp App { get; }

        public HttpClient Client { get; }

        public string Email { get; }

        public static async Task<Throttled> StartAsync(string limit, int value)
        {
            var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
            var app = new TesseraApp(clock, new Dictionary<string, string?> { [$"Tessera:RateLimiting:{limit}"] = value.ToString(System.Globalization.CultureInfo.InvariantCulture) });
            var email = TesseraApp.NewEmail();
            await app.RegisterAsync(email);
            return new Throttled(clock, app, email);
        }

        public async ValueTask DisposeAsync()
        {
            Client.Dispose();
            await App.DisposeAsync();
        }
    }
}
