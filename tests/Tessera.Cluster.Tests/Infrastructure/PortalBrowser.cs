using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.RegularExpressions;
using Xunit;

using Tessera.Testing;

namespace Tessera.Cluster.Tests.Infrastructure;

/// <summary>One visitor of the Portal: signs in through its form, calls its JSON API with the cookie, opens its feed.</summary>
public sealed partial class PortalBrowser : IDisposable
{
    private readonly SamplePortalProcess _portal;
    private readonly CookieContainer _cookies = new();
    private readonly HttpClient _http;

    public PortalBrowser(SamplePortalProcess portal)
    {
        _portal = portal;
        _http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, CookieContainer = _cookies, UseCookies = true })
        {
            BaseAddress = new Uri(portal.BaseUrl),
            Timeout = TimeSpan.FromSeconds(30),
        };
        _http.DefaultRequestHeaders.Accept.ParseAdd("text/html,application/xhtml+xml");
    }

    /// <summary>Submits the sign-in form; true when the Portal signed the visitor in (a redirect with its cookie).</summary>
    public async Task SignInAsync(string email, string password)
    {
        var cancellation = TestContext.Current.CancellationToken;
        var form = await _http.GetStringAsync("/signin", cancellation);
        var token = AntiforgeryField().Match(form);
        Assert.True(token.Success, form);
        using var answer = await _http.PostAsync("/signin", new FormUrlEncodedContent(
        [
            KeyValuePair.Create(token.Groups[1].Value, WebUtility.HtmlDecode(token.Groups[2].Value)),
            KeyValuePair.Create("returnUrl", "/"),
            KeyValuePair.Create("email", email),
            KeyValuePair.Create("password", password),
        ]), cancellation);
        Assert.True(answer.StatusCode == HttpStatusCode.Redirect, $"sign-in of {email} through the Portal: {(int)answer.StatusCode} {await answer.Content.ReadAsStringAsync(cancellation)}");
    }

    /// <summary>GET /api/me as the page's script calls it (refusals are problems, not redirects); never throws.</summary>
    public async Task<ApiResponse> MeAsync()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/me");
        request.Headers.Accept.Clear();
        request.Headers.Accept.ParseAdd("application/json");
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            using var response = await _http.SendAsync(request, cancel.Token);
            return new ApiResponse((int)response.StatusCode, await response.Content.ReadAsStringAsync(cancel.Token));
        }
        catch (Exception exception) when (exception is HttpRequestException or OperationCanceledException or IOException)
        {
            return ApiResponse.Failed(exception);
        }
    }

    /// <summary>Opens the Portal's WebSocket feed with this visitor's cookie and reads its first line.</summary>
    public async Task<ClientWebSocket> OpenFeedAsync()
    {
        var socket = new ClientWebSocket();
        socket.Options.Cookies = _cookies;
        await socket.ConnectAsync(new Uri(_portal.BaseUrl.Replace("http://", "ws://", StringComparison.Ordinal) + "/feed"), TestContext.Current.CancellationToken);
        var buffer = new byte[256];
        var first = await socket.ReceiveAsync(buffer, TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        Assert.Equal(WebSocketMessageType.Text, first.MessageType);
        Assert.StartsWith("tick 1", Encoding.UTF8.GetString(buffer, 0, first.Count), StringComparison.Ordinal);
        return socket;
    }

    /// <summary>Reads the feed (skipping its ticks) until the Portal's close frame; its status and description, or null when none came in time.</summary>
    public static async Task<(int Status, string? Description)?> ReceiveCloseAsync(ClientWebSocket socket, TimeSpan timeout)
    {
        var buffer = new byte[256];
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        cancel.CancelAfter(timeout);
        try
        {
            while (true)
            {
                var result = await socket.ReceiveAsync(buffer, cancel.Token);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    return ((int)result.CloseStatus!.Value, result.CloseStatusDescription);
                }
            }
        }
        catch (Exception exception) when (exception is OperationCanceledException or WebSocketException)
        {
            return null;
        }
    }

    public void Dispose() => _http.Dispose();

    [GeneratedRegex("""<input type="hidden" name="([^"]+)" value="([^"]+)">""")]
    private static partial Regex AntiforgeryField();
}
