using Tessera.Client;
using Terminal.Gui.ViewBase;
using Terminal.Gui.Views;

namespace Tessera.Samples.Desktop;

/// <summary>
/// Email and password. A refusal is shown in the server's own sentence (wrong credentials, deactivated, banned until
/// a date, too many attempts with the wait), so the app never words a decision it did not make.
/// </summary>
internal sealed class SignInScreen : View
{
    private readonly DesktopApp _owner;
    private readonly TextField _email;
    private readonly TextField _password;
    private readonly Button _signIn;
    private readonly Label _message;

    public SignInScreen(DesktopApp owner, string? notice)
    {
        _owner = owner;
        Width = Dim.Fill();
        Height = Dim.Fill();
        CanFocus = true;
        var heading = new Label { X = 2, Y = 1, Text = $"Sign in to Tessera at {owner.Client.Authority}" };
        var emailLabel = new Label { X = 2, Y = 3, Text = "Email:" };
        _email = new TextField { X = 13, Y = 3, Width = 40, Text = owner.LastEmail ?? string.Empty };
        var passwordLabel = new Label { X = 2, Y = 5, Text = "Password:" };
        _password = new TextField { X = 13, Y = 5, Width = 40, Secret = true };
        _signIn = new Button { X = 13, Y = 7, Text = "Sign _in", IsDefault = true };
        _signIn.Accepted += async (_, _) => await SignInAsync();
        _message = new Label { X = 2, Y = 10, Width = Dim.Fill(2), Height = 3, Text = notice ?? string.Empty };
        // A new attempt being typed: the last answer no longer applies.
        _password.TextChanged += (_, _) =>
        {
            if (_signIn.Enabled && _password.Text.Length > 0)
            {
                _message.Text = string.Empty;
            }
        };
        Add(heading, emailLabel, _email, passwordLabel, _password, _signIn, _message);
    }

    protected override void OnHasFocusChanged(bool newHasFocus, View? previousFocusedView, View? focusedView)
    {
        base.OnHasFocusChanged(newHasFocus, previousFocusedView, focusedView);
        // With the email kept from the last sign-in, the password is what is left to type.
        if (newHasFocus && focusedView == this)
        {
            (string.IsNullOrEmpty(_email.Text) ? _email : _password).SetFocus();
        }
    }

    private async Task SignInAsync()
    {
        var email = _email.Text.Trim();
        var password = _password.Text;
        if (email.Length == 0 || password.Length == 0)
        {
            _message.Text = "Enter your email and password.";
            return;
        }

        _signIn.Enabled = false;
        _message.Text = "Signing in...";
        try
        {
            await _owner.Client.SignInAsync(email, password);
            _owner.LastEmail = email;
            _owner.ShowDevices();
            return;
        }
        catch (TesseraApiException refusal)
        {
            // The server's sentence: "Wrong email or password.", "Your account is banned until 2026-12-08 09:00 UTC.",
            // "Too many attempts, try again in 4 seconds."...
            _password.Text = string.Empty;
            _message.Text = refusal.Message;
        }
        catch (TesseraUnavailableException unavailable)
        {
            _password.Text = string.Empty;
            _message.Text = "Tessera cannot be reached; try again. " + unavailable.Message;
        }

        _signIn.Enabled = true;
        _password.SetFocus();
    }
}
