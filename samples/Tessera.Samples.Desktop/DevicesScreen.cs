using System.Collections.ObjectModel;
using Humanizer;
using Tessera.Client;
using Terminal.Gui.ViewBase;
using Terminal.Gui.Views;

namespace Tessera.Samples.Desktop;

/// <summary>
/// The person's active sessions (device, platform, OS, browser, last active, "This device"), ending the selected one,
/// "Sign out all devices" behind a confirmation, and signing out this device.
/// </summary>
internal sealed class DevicesScreen : View
{
    private readonly DesktopApp _owner;
    private readonly Label _account;
    private readonly ListView _list;
    private readonly Label _message;
    private readonly Button[] _buttons;
    private readonly ObservableCollection<string> _rows = [];
    private readonly object? _ticker;
    private IReadOnlyList<SessionInfo> _sessions = [];
    private UserInfo? _user;

    public DevicesScreen(DesktopApp owner, string? notice)
    {
        _owner = owner;
        Width = Dim.Fill();
        Height = Dim.Fill();
        CanFocus = true;
        _account = new Label { X = 2, Y = 1, Text = "Loading..." };
        var title = new Label { X = 2, Y = 3, Text = "Active sessions" };
        var header = new Label { X = 2, Y = 4, Text = Row("Device", "Platform", "OS", "Browser", "Last active", string.Empty) };
        _list = new ListView { X = 2, Y = 5, Width = Dim.Fill(2), Height = Dim.Fill(6) };
        _list.SetSource(_rows);
        var refresh = new Button { X = 2, Y = Pos.AnchorEnd(5), Text = "_Refresh" };
        refresh.Accepted += (_, _) => Reload();
        var end = new Button { X = Pos.Right(refresh) + 2, Y = Pos.AnchorEnd(5), Text = "_End selected session" };
        end.Accepted += async (_, _) => await EndSelectedAsync();
        var all = new Button { X = Pos.Right(end) + 2, Y = Pos.AnchorEnd(5), Text = "Sign out _all devices" };
        all.Accepted += async (_, _) => await SignOutAllAsync();
        var signOut = new Button { X = Pos.Right(all) + 2, Y = Pos.AnchorEnd(5), Text = "Sign _out" };
        signOut.Accepted += async (_, _) => await SignOutAsync();
        _buttons = [refresh, end, all, signOut];
        _message = new Label { X = 2, Y = Pos.AnchorEnd(2), Width = Dim.Fill(2), Text = notice ?? string.Empty };
        Add(_account, title, header, _list, refresh, end, all, signOut, _message);
        // "2 minutes ago" moves on by itself; the list is fetched again on Refresh (F5).
        _ticker = owner.App.AddTimeout(TimeSpan.FromSeconds(15), () =>
        {
            Render();
            return true;
        });
        Reload();
    }

    public void Reload() => _ = LoadAsync();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            if (_ticker is not null)
            {
                _owner.App.RemoveTimeout(_ticker);
            }
        }

        base.Dispose(disposing);
    }

    protected override void OnHasFocusChanged(bool newHasFocus, View? previousFocusedView, View? focusedView)
    {
        base.OnHasFocusChanged(newHasFocus, previousFocusedView, focusedView);
        if (newHasFocus && focusedView == this)
        {
            _list.SetFocus();
        }
    }

    /// <summary>One line of the list, in fixed columns, so that the rows line up under the header.</summary>
    private static string Row(string device, string platform, string os, string browser, string lastActive, string mark) =>
        $"{device,-24} {platform,-8} {os,-26} {browser,-18} {lastActive,-16} {mark}";

    private static string Cell(string? value, int width)
    {
        if (string.IsNullOrEmpty(value))
        {
            return "-";
        }

        return value.Length <= width ? value : value[..(width - 1)] + "~";
    }

    private async Task LoadAsync()
    {
        await RunAsync(async () =>
        {
            var current = await _owner.Client.GetCurrentSessionAsync();
            _user = current.User;
            _owner.LastEmail = current.User.Email;
            _sessions = await _owner.Client.ListSessionsAsync();
            Render();
        });
    }

    private void Render()
    {
        if (_user is not null)
        {
            _account.Text = $"Signed in as {_user.DisplayName} <{_user.Email}>";
        }

        var selected = _list.SelectedItem;
        var now = DateTimeOffset.UtcNow;
        _rows.Clear();
        foreach (var session in _sessions)
        {
            // The server's clock may be a little ahead of this machine's: never "in 2 seconds".
            var lastActive = session.LastActiveAt > now ? now : session.LastActiveAt;
            _rows.Add(Row(Cell(session.DeviceName, 24), Cell(session.Platform, 8), Cell(session.Os, 26), Cell(session.Browser, 18),
                lastActive.Humanize(now), session.IsCurrent ? "This device" : string.Empty));
        }

        if (_rows.Count > 0)
        {
            _list.SelectedItem = Math.Clamp(selected ?? 0, 0, _rows.Count - 1);
        }
    }

    private async Task EndSelectedAsync()
    {
        try
        {
            await EndSelectedCoreAsync();
        }
        finally
        {
            // Alt+E gives the button the focus once this handler returns: back to the list after that, for the next choice.
            _owner.App.AddTimeout(TimeSpan.Zero, () =>
            {
                _list.SetFocus();
                return false;
            });
        }
    }

    private async Task EndSelectedCoreAsync()
    {
        if (_list.SelectedItem is not { } index || index >= _sessions.Count)
        {
            _message.Text = "Select a session first.";
            return;
        }

        var session = _sessions[index];
        if (session.IsCurrent)
        {
            _message.Text = "That is this device: use Sign out to end it.";
            return;
        }

        await RunAsync(async () =>
        {
            await _owner.Client.EndSessionAsync(session.Id);
            _message.Text = $"Ended the session of {session.DeviceName ?? "that device"}.";
            await LoadAsync();
        });
    }

    private async Task SignOutAllAsync()
    {
        var choice = MessageBox.Query(_owner.App, "Sign out all devices",
            $"End all {_sessions.Count} sessions, this device's included? Every device will have to sign in again.",
            "_Cancel", "_Sign out all");
        if (choice != 1)
        {
            _message.Text = "Nothing was ended.";
            return;
        }

        await RunAsync(async () =>
        {
            var ended = await _owner.Client.EndAllSessionsAsync();
            _owner.ShowSignIn($"You signed out of all devices ({ended} sessions ended).");
        });
    }

    private async Task SignOutAsync()
    {
        await RunAsync(async () =>
        {
            await _owner.Client.SignOutAsync();
            _owner.ShowSignIn("You signed out.");
        });
    }

    /// <summary>
    /// One call to Tessera with the buttons disabled. A refusal that ended the session is not shown here: the watcher
    /// raises SessionEnded for it, and the app's dialog says why.
    /// </summary>
    private async Task RunAsync(Func<Task> call)
    {
        foreach (var button in _buttons)
        {
            button.Enabled = false;
        }

        try
        {
            await call();
        }
        catch (TesseraApiException refusal) when (refusal.SessionEnded)
        {
            // Told by the watcher's dialog.
        }
        catch (TesseraApiException refusal)
        {
            _message.Text = refusal.Message;
        }
        catch (TesseraUnavailableException)
        {
            _message.Text = "Tessera cannot be reached. You are still signed in; try again in a moment.";
        }
        finally
        {
            foreach (var button in _buttons)
            {
                button.Enabled = true;
            }
        }
    }
}
