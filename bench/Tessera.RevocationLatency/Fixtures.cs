using System.Security.Cryptography;

namespace Tessera.RevocationLatency;

/// <summary>A session to revoke, and who revokes it.</summary>
internal sealed record Target(string UserId, string SessionId, string Token, string RevokerToken);

/// <summary>Users and sessions made before measuring: every measured revocation ends a session of its own.</summary>
internal sealed record Fixtures(IReadOnlyList<Target> Targets, int Users)
{
    /// <summary>Concurrent logins while preparing: each hashes a password on the server (PBKDF2, tens of ms).</summary>
    private const int Parallelism = 4;

    public static async Task<Fixtures> PrepareAsync(ClusterClients cluster, BenchOptions options, CancellationToken cancellationToken)
    {
        var admin = await LoginAsync(cluster.A, options.AdminEmail, options.AdminPassword, "bench admin", cancellationToken);
        var total = options.Warmup + options.Count;
        var users = (total + options.SessionsPerUser - 1) / options.SessionsPerUser;
        var password = "Bench-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(12));
        var run = Convert.ToHexString(RandomNumberGenerator.GetBytes(4)).ToUpperInvariant();
        HttpClient[] nodes = [cluster.A, cluster.B, cluster.C];

        // One user per SessionsPerUser targets, signed up on A; the user's own revoking session is made on A, where every
        // revoke is sent; the targets are signed in on A, B and C in turn, so that where a session began does not matter.
        var userIds = new string[users];
        var revokers = new string[users];
        await Parallel.ForAsync(0, users, new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = cancellationToken },
            async (u, token) =>
            {
                var email = $"revoke-{run.ToLowerInvariant()}-{u}@bench.test";
                var registered = await ClusterClients.SendAsync(
                    cluster.A, HttpMethod.Post, "/v1/auth/register", null, new { email, password, displayName = $"Bench user {u}" }, token);
                Expect(registered, 201, $"register {email}");
                userIds[u] = registered.Json.GetProperty("user").GetProperty("id").GetString()!;
                revokers[u] = (await LoginAsync(cluster.A, email, password, "revoker", token)).Token;
            });

        var targets = new Target[total];
        await Parallel.ForAsync(0, total, new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = cancellationToken },
            async (i, token) =>
            {
                // Consecutive revocations belong to different users.
                var u = i % users;
                var email = $"revoke-{run.ToLowerInvariant()}-{u}@bench.test";
                var (sessionToken, sessionId) = await LoginAsync(nodes[i % nodes.Length], email, password, $"target {i}", token);
                targets[i] = new Target(userIds[u], sessionId, sessionToken, options.Via == RevokePath.Admin ? admin.Token : revokers[u]);
            });

        return new Fixtures(targets, users);
    }

    private static async Task<(string Token, string SessionId)> LoginAsync(
        HttpClient node, string email, string password, string device, CancellationToken cancellationToken)
    {
        var answer = await ClusterClients.SendAsync(
            node, HttpMethod.Post, "/v1/auth/login", null, new { email, password, device = new { name = device, platform = "api" } }, cancellationToken);
        Expect(answer, 200, $"login {email} on {node.BaseAddress}");
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
