using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Tessera.Testing;

namespace Tessera.Web.Tests.Infrastructure;

/// <summary>
/// The real Tessera server on a loopback port (<see cref="LoopbackTesseraServer"/>), with a bootstrap admin (or, with
/// <c>bootstrapAdmin: false</c>, none: a fresh install), and the API calls the browser tests use to set up what they
/// are not about.
/// </summary>
public sealed class TesseraWebServer(IDictionary<string, string?>? settings = null, TimeProvider? clock = null, bool bootstrapAdmin = true)
    : LoopbackTesseraServer(settings, clock, bootstrapAdmin)
{
    /// <summary>Registers a user through the API and returns their id.</summary>
    public async Task<string> RegisterAsync(string email, string displayName, string password = Password)
    {
        using var client = Api();
        var response = await client.PostAsJsonAsync("/v1/auth/register", new { email, password, displayName }, TestContext.Current.CancellationToken);
        var text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"Registering {email} failed: {(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement.GetProperty("user").GetProperty("id").GetString()!;
    }

    /// <summary>Signs in through the API and returns the token.</summary>
    public async Task<string> LoginAsync(string email, string password = Password, string? userAgent = null)
    {
        using var client = Api();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/auth/login") { Content = JsonContent.Create(new { email, password }) };
        if (userAgent is not null)
        {
            request.Headers.TryAddWithoutValidation("User-Agent", userAgent);
        }

        var response = await client.SendAsync(request, TestContext.Current.CancellationToken);
        var text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.True(response.IsSuccessStatusCode, $"Login of {email} failed: {(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement.GetProperty("token").GetString()!;
    }

    /// <summary>An admin decision through the API (for setting up state; the console's own buttons are what tests check).</summary>
    public async Task AdminPostAsync(string path, object? body = null)
    {
        using var client = Api(await LoginAsync(AdminEmail, AdminPassword));
        var response = await client.PostAsJsonAsync(path, body ?? new { }, TestContext.Current.CancellationToken);
        Assert.True(response.IsSuccessStatusCode, $"POST {path} failed: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)}");
    }

    /// <summary>
    /// Sets a display name straight in the database, as a direct SQL change or a row from before today's name rule would:
    /// the pages must show whatever the store holds without being fooled by it.
    /// </summary>
    public async Task SetDisplayNameInDatabaseAsync(string userId, string displayName)
    {
        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(DataDirectory, "tessera.db")}");
        await connection.OpenAsync(TestContext.Current.CancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "UPDATE users SET display_name = $name WHERE id = $id";
        command.Parameters.AddWithValue("$name", displayName);
        command.Parameters.AddWithValue("$id", userId);
        Assert.Equal(1, await command.ExecuteNonQueryAsync(TestContext.Current.CancellationToken));
    }

    /// <summary>The reset link of the newest message to <paramref name="email"/> in the outbox.</summary>
    public async Task<string> ReadResetLinkAsync(string email)
    {
        var outbox = Path.Combine(DataDirectory, "outbox");
        foreach (var path in Directory.GetFiles(outbox).OrderDescending(StringComparer.Ordinal))
        {
            var lines = (await File.ReadAllLinesAsync(path, TestContext.Current.CancellationToken)).Select(line => line.Trim()).ToList();
            if (lines.Contains($"To: {email}", StringComparer.OrdinalIgnoreCase))
            {
                return lines.Single(line => line.StartsWith("/reset-password?token=", StringComparison.Ordinal));
            }
        }

        throw new InvalidOperationException($"No reset message to {email} in {outbox}.");
    }

    /// <summary>The audit events about a user, newest first, as (action, reason), read through the admin API.</summary>
    public async Task<IReadOnlyList<(string Action, string? Reason)>> AuditAsync(string userId)
    {
        using var client = Api(await LoginAsync(AdminEmail, AdminPassword));
        var text = await client.GetStringAsync($"/v1/admin/audit?userId={Uri.EscapeDataString(userId)}&limit=100", TestContext.Current.CancellationToken);
        return [.. JsonDocument.Parse(text).RootElement.GetProperty("events").EnumerateArray()
            .Select(e => (e.GetProperty("action").GetString()!, e.GetProperty("reason").GetString()))];
    }
}
