using System.Security.Cryptography;

namespace Tessera.RelyingLatency;

/// <summary>A session to end.</summary>
internal sealed record Target(string UserId, string SessionId, string Token);

/// <summary>Users and sessions made before measuring: every measured revocation ends a session of its own.</summary>
internal sealed record Fixtures(string AdminToken, IReadOnlyList<Target> Targets, int Users)
{
    /// <summary>Concurrent logins while preparing: each hashes a password on the server.</summary>
    private const int Parallelism = 4;

    public static async Task<Fixtures> PrepareAsync(Clients clients, Options options, CancellationToken cancellationToken)
    {
        var admin = await LoginAsync(clients.Tessera, options.AdminEmail, options.AdminPassword, "bench admin", cancellationToken);
        var total = options.Warmup + options.Count;
        var users = (total + options.SessionsPerUser - 1) / options.SessionsPerUser;
        var password = "Bench-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(12));
        var run = Convert.ToHexString(RandomNumberGenerator.GetBytes(4)).ToLowerInvariant();
        var userIds = new string[users];
        await Parallel.ForAsync(0, users, new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = cancellationToken },
            async (u, token) =>
            {
                var email = $"relying-{run}-{u}@bench.test";
                var registered = await Clients.SendAsync(
                    clients.Tessera, HttpMethod.Post, "/v1/auth/register", null, new { email, password, displayName = $"Bench user {u}" }, token);
                Expect(registered, 201, $"register {email}");
                userIds[u] = registered.Json.GetProperty("user").GetProperty("id").GetString()!;
            });

        var targets = new Target[total];
        await Parallel.ForAsync(0, total, new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = cancellationToken },
            async (i, token) =>
            {
                // Consecutive revocations belong to different users.
                var u = i % users;
                var (sessionToken, sessionId) = await LoginAsync(clients.Tessera, $"relying-{run}-{u}@bench.test", password, $"target {i}", token);
                targets[i] = new Target(userIds[u], sessionId, sessionToken);
            });

        return new Fixtures(admin.Token, targets, users);
    }

    private static async Task<(string Token, string SessionId)> LoginAsync(
        HttpClient tessera, string email, string password, string device, CancellationToken cancellationToken)
    {
        var answer = await Clients.SendAsync(
            tessera, HttpMethod.Post, "/v1/auth/login", null, new { email, password, device = new { name = device, platform = "api" } }, cancellationToken);
        Expect(answer, 200, $"login {email}");
        var json = answer.Json;
        return (json.GetProperty("token").GetString()!, json.GetProperty("session").GetProperty("id").GetString()!);
    }

    public static void Expect(Answer answer, int status, string what)
    {
        if (answer.Status != status)
        {
            throw new InvalidOperationException($"{what}: expected {status}, got {answer}");
        }
    }
}
