using System.Net;
using Tessera.Testing;
using Xunit;

namespace Tessera.Samples.Desktop.Tests;

/// <summary>
/// The desktop sample end to end: the built app in a real terminal (tmux), against the real Tessera server on a loopback
/// port, driven by keys as a person would, its screens read back with capture-pane.
/// </summary>
public sealed class DesktopSampleTests : IAsyncLifetime
{
    private readonly LoopbackTesseraServer _server = new();
    private readonly TesseraApi _api;
    private DesktopSample? _sample;

    public DesktopSampleTests()
    {
        _server.Start();
        _api = new TesseraApi(_server);
    }

    private DesktopSample Sample => _sample ?? throw new InvalidOperationException("The sample is not started.");

    private TmuxTerminal Terminal => Sample.Terminal;

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        if (_sample is not null)
        {
            await _sample.DisposeAsync();
        }

        await _server.DisposeAsync();
    }

    [Fact]
    public async Task SignIn_ShowsBothDevices_AndSignOutAllGoesThroughTheDialog_CancelFirst()
    {
        var email = await _api.RegisterAsync("Ada");
        var phone = await _api.SignInPhoneAsync(email);
        _sample = await DesktopSample.StartAsync(_server.BaseUrl);

        Captures.Save("1-sign-in", await Terminal.WaitForTextAsync("Password:"));
        await Sample.SignInAsync(email, LoopbackTesseraServer.Password);
        var devices = await Sample.WaitUntilLiveAsync();
        Captures.Save("2-devices", devices);

        Assert.Contains("Signed in as Ada <" + email + ">", devices, StringComparison.Ordinal);
        var rows = devices.Split('\n');
        var thisDevice = Assert.Single(rows, row => row.Contains("This device", StringComparison.Ordinal));
        Assert.Contains("desktop", thisDevice, StringComparison.Ordinal);
        Assert.Contains(Environment.MachineName[..Math.Min(Environment.MachineName.Length, 20)], thisDevice, StringComparison.Ordinal);
        var phoneRow = Assert.Single(rows, row => row.Contains("Mobile Safari on iOS", StringComparison.Ordinal));
        Assert.Contains("iOS 17.4", phoneRow, StringComparison.Ordinal);
        Assert.Contains("Mobile Safari 17", phoneRow, StringComparison.Ordinal);
        // Last active in relative words: "now" within a second of the phone's sign-in (a quick run), "… ago" after.
        Assert.Matches(@"( ago|\bnow\b)", phoneRow);
        Assert.DoesNotContain("This device", phoneRow, StringComparison.Ordinal);

        // Cancel: nothing ends.
        await Terminal.SendKeysAsync("M-a");
        Captures.Save("3-confirm-sign-out-all", await Terminal.WaitForTextAsync("End all 2 sessions, this device's included?"));
        await Terminal.SendKeysAsync("M-c");
        var cancelled = await Terminal.WaitForTextAsync("Nothing was ended.");
        Assert.DoesNotContain("End all 2 sessions", cancelled, StringComparison.Ordinal);
        Assert.Equal((HttpStatusCode.OK, null), await _api.WhoAmIAsync(phone));
        Assert.Equal(2, (await _api.SessionsAsync(phone)).Length);
        Assert.True(File.Exists(Sample.TokenFile), "the sample's token should still be stored after Cancel");

        // Confirm: every session ends, this one too, and the sample is back at sign-in, with no "session ended" dialog
        // (this device did it).
        await Terminal.SendKeysAsync("M-a");
        await Terminal.WaitForTextAsync("End all 2 sessions, this device's included?");
        await Terminal.SendKeysAsync("M-s");
        var signIn = await Terminal.WaitForAsync(screen => screen.Contains("You signed out of all devices (2 sessions ended).", StringComparison.Ordinal)
            && screen.Contains("│ Signed out", StringComparison.Ordinal), "the sign-in screen with the watcher signed out");
        Captures.Save("4-after-sign-out-all", signIn);
        Assert.Contains("Password:", signIn, StringComparison.Ordinal);
        // The watcher took it as this app's own doing (state SignedOut), not as news (Ended, and its dialog).
        Assert.DoesNotContain("Session ended", signIn, StringComparison.Ordinal);
        Assert.Equal((HttpStatusCode.Unauthorized, "signed_out_all_devices"), await _api.WhoAmIAsync(phone));
        Assert.False(File.Exists(Sample.TokenFile), "the token file should be gone after Sign out all devices");
    }

    [Fact]
    public async Task EndSelectedSession_EndsThePhoneOnly_AndSignOutEndsThisOne()
    {
        var email = await _api.RegisterAsync("Alan");
        var phone = await _api.SignInPhoneAsync(email);
        _sample = await DesktopSample.StartAsync(_server.BaseUrl);
        await Sample.SignInAsync(email, LoopbackTesseraServer.Password);
        var devices = await Sample.WaitUntilLiveAsync();

        // This device cannot be ended from the list: that is Sign out.
        var rows = devices.Split('\n').Where(row => row.Contains("This device", StringComparison.Ordinal) || row.Contains("Mobile Safari on iOS", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, rows.Count);
        var phoneIndex = rows.FindIndex(row => row.Contains("Mobile Safari on iOS", StringComparison.Ordinal));
        var thisIndex = 1 - phoneIndex;
        // The list opens with its first row selected.
        if (thisIndex == 1)
        {
            await Terminal.SendKeysAsync("Down");
        }

        await Terminal.SendKeysAsync("M-e");
        await Terminal.WaitForTextAsync("That is this device: use Sign out to end it.");
        Assert.Equal((HttpStatusCode.OK, null), await _api.WhoAmIAsync(phone));

        await Terminal.SendKeysAsync(phoneIndex == 1 ? "Down" : "Up");
        await Terminal.SendKeysAsync("M-e");
        var ended = await Terminal.WaitForAsync(screen => screen.Contains("Ended the session of Mobile Safari on iOS.", StringComparison.Ordinal)
            && !screen.Contains("iOS 17.4", StringComparison.Ordinal), "the phone's session ended and gone from the list");
        Captures.Save("11-end-selected-session", ended);
        Assert.Contains("This device", ended, StringComparison.Ordinal);
        Assert.Equal((HttpStatusCode.Unauthorized, "revoked_by_user"), await _api.WhoAmIAsync(phone));

        await Terminal.SendKeysAsync("M-o");
        var signedOut = await Terminal.WaitForTextAsync("You signed out.");
        Assert.Contains("Password:", signedOut, StringComparison.Ordinal);
        Assert.False(File.Exists(Sample.TokenFile), "Sign out should forget the token");
    }

    [Fact]
    public async Task Quit_KeepsTheToken_AndTheNextStartOpensOnTheDevicesScreen()
    {
        var email = await _api.RegisterAsync("Margaret");
        _sample = await DesktopSample.StartAsync(_server.BaseUrl);
        await Sample.SignInAsync(email, LoopbackTesseraServer.Password);
        await Sample.WaitUntilLiveAsync();
        await Terminal.SendKeysAsync("C-q");
        await Terminal.WaitForTextAsync("[exited with 0]");
        Assert.True(File.Exists(Sample.TokenFile), "quitting should keep the token");

        // Started again with the same token file: signed in, no password asked.
        _sample = await Sample.StartAgainAsync(_server.BaseUrl);
        var devices = await Sample.WaitUntilLiveAsync();
        Assert.Contains("Signed in as Margaret <" + email + ">", devices, StringComparison.Ordinal);
        Assert.DoesNotContain("Password:", devices, StringComparison.Ordinal);
    }

    public static TheoryData<string, string> EndedElsewhere => new()
    {
        { "revoked_by_user", "Your session was ended from another device." },
        { "signed_out_all_devices", "You signed out of all devices." },
        { "user_banned", "Your account is banned until " },
    };

    [Theory]
    [MemberData(nameof(EndedElsewhere))]
    public async Task SessionEndedByAnotherClient_ShowsTheServersSentence_ThenSignIn(string reason, string sentence)
    {
        var email = await _api.RegisterAsync("Grace");
        var phone = await _api.SignInPhoneAsync(email);
        _sample = await DesktopSample.StartAsync(_server.BaseUrl);
        await Sample.SignInAsync(email, LoopbackTesseraServer.Password);
        await Sample.WaitUntilLiveAsync();

        var bannedUntil = DateTimeOffset.UtcNow.AddDays(2);
        switch (reason)
        {
            case "revoked_by_user":
                var desktop = (await _api.SessionsAsync(phone)).Single(session => !session.GetProperty("current").GetBoolean());
                await _api.DeleteAsync(phone, "/v1/sessions/" + desktop.GetProperty("id").GetString());
                break;
            case "signed_out_all_devices":
                await _api.PostAsync(phone, "/v1/sessions/revoke-all");
                break;
            default:
                var admin = await _api.AdminTokenAsync();
                await _api.PostAsync(admin, $"/v1/admin/users/{await _api.UserIdAsync(phone)}/ban", new { reason = "test", until = bannedUntil });
                sentence += $"{bannedUntil.UtcDateTime:yyyy-MM-dd HH:mm} UTC.";
                break;
        }

        var dialog = await Terminal.WaitForTextAsync(sentence);
        Captures.Save($"5-session-ended-{reason}", dialog);
        Assert.Contains("┥Session ended┝", dialog, StringComparison.Ordinal);
        Assert.False(File.Exists(Sample.TokenFile), "the watcher should have cleared the token");

        await Terminal.SendKeysAsync("Enter");
        var signIn = await Terminal.WaitForAsync(screen => screen.Contains("Password:", StringComparison.Ordinal) && !screen.Contains(sentence, StringComparison.Ordinal),
            "the sign-in screen without the dialog");
        Assert.Contains(email, signIn, StringComparison.Ordinal);

        if (reason == "user_banned")
        {
            // Signing in again while banned: the server's sentence with the ban's end, on the sign-in screen.
            await Sample.SignInAsync(email: null, LoopbackTesseraServer.Password);
            Captures.Save("6-sign-in-banned", await Terminal.WaitForTextAsync(sentence));
        }
    }

    [Fact]
    public async Task SignIn_ShowsTheServersRefusals()
    {
        var email = await _api.RegisterAsync("Linus");
        _sample = await DesktopSample.StartAsync(_server.BaseUrl);

        await Sample.SignInAsync(email, "not-the-password");
        Captures.Save("7-sign-in-wrong-password", await Terminal.WaitForTextAsync("Wrong email or password."));

        var admin = await _api.AdminTokenAsync();
        var user = await _api.SignInAsync(email, LoopbackTesseraServer.Password);
        await _api.PostAsync(admin, $"/v1/admin/users/{await _api.UserIdAsync(user)}/deactivate");
        await Sample.SignInAsync(email: null, LoopbackTesseraServer.Password);
        Captures.Save("8-sign-in-deactivated", await Terminal.WaitForTextAsync("Your account has been deactivated."));
        Assert.False(File.Exists(Sample.TokenFile));
    }

    [Fact]
    public async Task TooManyAttempts_ShowsTheWait()
    {
        await using var server = new LoopbackTesseraServer(new Dictionary<string, string?> { ["Tessera:RateLimiting:FailedLoginsBeforeBackoff"] = "2" });
        server.Start();
        var api = new TesseraApi(server);
        var email = await api.RegisterAsync("Ken");
        _sample = await DesktopSample.StartAsync(server.BaseUrl);

        await Sample.SignInAsync(email, "wrong-password-1");
        await Terminal.WaitForTextAsync("Wrong email or password.");
        string screen;
        var attempts = 1;
        do
        {
            // Typing clears the last answer, so the next one on screen is the answer to this attempt.
            await Terminal.TypeAsync("wrong-password-1");
            await Terminal.WaitForAsync(s => !s.Contains("Wrong email or password.", StringComparison.Ordinal), "the last answer cleared");
            await Terminal.SendKeysAsync("Enter");
            attempts++;
            screen = await Terminal.WaitForAsync(s => s.Contains("Too many attempts", StringComparison.Ordinal) || s.Contains("Wrong email or password.", StringComparison.Ordinal), "an answer");
        }
        while (!screen.Contains("Too many attempts", StringComparison.Ordinal) && attempts < 8);

        Captures.Save("9-sign-in-too-many-attempts", screen);
        Assert.Matches(@"Too many attempts, try again in \d+ seconds?\.", screen);
    }

    [Fact]
    public async Task Offline_IsShownInTheStatusBar_AndNeverSignsOut()
    {
        var email = await _api.RegisterAsync("Barbara");
        var proxy = new TcpChaosProxy(new Uri(_server.BaseUrl).Port);
        try
        {
            _sample = await DesktopSample.StartAsync($"http://{proxy.Endpoint}");
            await Sample.SignInAsync(email, LoopbackTesseraServer.Password);
            await Sample.WaitUntilLiveAsync();
        }
        finally
        {
            // The way to Tessera is gone: the open stream is cut and new connections are refused.
            await proxy.DisposeAsync();
        }

        var offline = await Terminal.WaitForTextAsync("Offline: Tessera cannot be reached. You are still signed in");
        await Terminal.SendKeysAsync("F5");
        offline = await Terminal.WaitForTextAsync("Tessera cannot be reached. You are still signed in; try again");
        Captures.Save("10-offline", offline);
        Assert.Contains("This device", offline, StringComparison.Ordinal);
        Assert.DoesNotContain("Password:", offline, StringComparison.Ordinal);
        Assert.True(File.Exists(Sample.TokenFile), "being offline must never clear the token");
    }
}
