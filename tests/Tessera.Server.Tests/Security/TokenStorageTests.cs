using System.Text;
using Tessera.Server.Tests.Infrastructure;

namespace Tessera.Server.Tests.Security;

/// <summary>Only hashes of secrets are stored: a copy of the database file must not let anyone sign in.</summary>
public sealed class TokenStorageTests
{
    [Fact]
    public async Task Session_and_reset_tokens_never_appear_in_the_database_files()
    {
        var app = new TesseraApp();
        var secrets = new List<string>();
        try
        {
            var user = await app.NewUserAsync(sessions: 3);
            secrets.AddRange(user.Sessions.Select(s => s.Token));
            var admin = await app.LoginAdminAsync();
            secrets.Add(admin.Token);
            using (var client = app.WithToken(user.Token))
            {
                // Activity and a revocation write to the session rows too.
                await (await client.Get("/v1/auth/session")).AssertOkJsonAsync();
                await (await client.Delete($"/v1/sessions/{user.Sessions[2].SessionId}")).AssertOkJsonAsync(System.Net.HttpStatusCode.NoContent);
            }

            using (var anonymous = app.Anonymous())
            {
                var cookieLogin = await anonymous.Post("/v1/auth/login", new { email = user.Email, password = TesseraApp.Password, useCookie = true });
                var cookie = cookieLogin.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("tessera_session=", StringComparison.Ordinal));
                secrets.Add(cookie.Split(';')[0]["tessera_session=".Length..]);
                await anonymous.Post("/v1/auth/password/reset-request", new { email = user.Email });
            }

            secrets.Add((await app.ReadResetTokenAsync(user.Email))!);
            Assert.All(secrets, s => Assert.Equal(43, s.Length));

            // While it runs, the newest rows are in the write-ahead log.
            var walWhileRunning = ReadShared(app.DatabasePath + "-wal");
            Assert.True(walWhileRunning.Length > 0, "the write-ahead log is empty while the app runs");
            AssertNoSecret(walWhileRunning, secrets, "tessera.db-wal (running)");
            AssertNoSecret(ReadShared(app.DatabasePath), secrets, "tessera.db (running)");

            await app.StopAsync();

            var files = new[] { app.DatabasePath, app.DatabasePath + "-wal" }.Where(File.Exists).ToList();
            Assert.Contains(app.DatabasePath, files);
            foreach (var file in files)
            {
                var bytes = await File.ReadAllBytesAsync(file, TestContext.Current.CancellationToken);
                Assert.True(bytes.Length > 0 || file.EndsWith("-wal", StringComparison.Ordinal), $"{file} is empty");
                AssertNoSecret(bytes, secrets, Path.GetFileName(file));
            }

            // The password is not there in clear either.
            var database = await File.ReadAllBytesAsync(app.DatabasePath, TestContext.Current.CancellationToken);
            Assert.True(database.AsSpan().IndexOf(Encoding.UTF8.GetBytes(TesseraApp.Password)) < 0, "a password was found in the database");
        }
        finally
        {
            await app.DisposeAsync();
        }
    }

    private static byte[] ReadShared(string path)
    {
        if (!File.Exists(path))
        {
            return [];
        }

        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    private static void AssertNoSecret(byte[] bytes, IEnumerable<string> secrets, string where)
    {
        foreach (var secret in secrets)
        {
            Assert.True(bytes.AsSpan().IndexOf(Encoding.UTF8.GetBytes(secret)) < 0, $"a token was found in {where}");
            Assert.True(bytes.AsSpan().IndexOf(Encoding.Unicode.GetBytes(secret)) < 0, $"a token was found (UTF-16) in {where}");
        }
    }
}
