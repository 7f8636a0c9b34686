using Microsoft.Extensions.Options;
using Tessera.Core.Options;
using Zxcvbn.Matcher;

namespace Tessera.Core.Security;

/// <summary>
/// The one rule for a new password, at registration, change and reset, whichever way it comes (API or pages).
/// It follows NIST SP 800-63B: a minimum length, a generous maximum, any characters, no composition rules, and a refusal
/// of passwords that are common or easy to guess, judged by zxcvbn (which knows the most common passwords, dictionary
/// words, names, keyboard rows, repeats, sequences and dates) with the person's own email and name as words it knows too.
/// </summary>
public sealed class PasswordPolicy(IOptions<TesseraOptions> options)
{
    /// <summary>
    /// Only this many leading characters are scored: zxcvbn's time grows fast with length (seconds for 256 characters),
    /// and a policy must not let one request buy that much CPU. A strong password is strong well within it; a weak
    /// beginning is refused, which errs on the safe side.
    /// </summary>
    public const int ScoredLength = 32;

    // Thread-safe once built: its word lists load lazily, once, and are only read afterwards.
    private static readonly Zxcvbn.Zxcvbn Estimator = new();

    private const string Advice = " Choose another: a few unrelated words together make a password that is strong and easy to remember.";

    private const string PersonalMessage =
        "The password contains your email address or name, which is among the first things an attacker tries." + Advice;

    private readonly PasswordOptions _rules = options.Value.Passwords;

    /// <summary>Throws <c>weak_password</c> (400) with a sentence saying why, naming <paramref name="field"/> in <c>errors</c>.</summary>
    /// <param name="userInputs">What an attacker who targets this person tries first: their email, its local part, their name.</param>
    public void Check(string? password, string field, params IEnumerable<string?> userInputs)
    {
        if (string.IsNullOrEmpty(password))
        {
            throw TesseraException.Validation(field, "A password is required.");
        }

        if (password.Length < _rules.MinimumLength)
        {
            throw Weak(field, $"The password must have at least {_rules.MinimumLength} characters.");
        }

        if (password.Length > _rules.MaximumLength)
        {
            throw Weak(field, $"The password must have at most {_rules.MaximumLength} characters.");
        }

        var wholes = userInputs.OfType<string>().Select(i => i.Trim().ToLowerInvariant()).Where(i => i.Length > 0).ToList();
        var personal = PersonalWords(wholes);

        // Said outright, whatever the length (zxcvbn only sees the first ScoredLength characters): a password that holds
        // the whole email address, or that is little more than the person's name or the email's local part.
        var rest = personal.Where(word => word.Length >= 3).OrderByDescending(word => word.Length)
            .Aggregate(password, (left, word) => left.Replace(word, string.Empty, StringComparison.OrdinalIgnoreCase));
        if (wholes.Any(whole => whole.Contains('@', StringComparison.Ordinal) && password.Contains(whole, StringComparison.OrdinalIgnoreCase))
            || rest.Length < _rules.MinimumLength)
        {
            throw Weak(field, PersonalMessage);
        }

        var scored = password.Length > ScoredLength ? password[..ScoredLength] : password;
        var result = Estimator.EvaluatePassword(scored, personal);
        if (result.Score < _rules.MinimumScore)
        {
            throw Weak(field, Explain(result.MatchSequence, scored));
        }
    }

    /// <summary>For zxcvbn: the email, its local part, the whole name and each word of it.</summary>
    private static List<string> PersonalWords(List<string> wholes)
    {
        var words = new HashSet<string>(wholes, StringComparer.Ordinal);
        foreach (var whole in wholes)
        {
            words.Add(LocalPart(whole));
            words.UnionWith(whole.Split(' ', StringSplitOptions.RemoveEmptyEntries));
        }

        return [.. words];
    }

    private static string LocalPart(string input) => input.IndexOf('@', StringComparison.Ordinal) is > 0 and var at ? input[..at] : input;

    /// <summary>Why zxcvbn could guess it, from the patterns it found, in words a person can act on.</summary>
    private static string Explain(IList<Zxcvbn.Match> matches, string password)
    {
        var dictionaryMatches = matches.OfType<DictionaryMatch>().ToList();
        if (dictionaryMatches.Any(m => m.DictionaryName == "user_inputs"))
        {
            return PersonalMessage;
        }

        if (dictionaryMatches.Any(m => m.DictionaryName == "passwords" && m.Token.Length * 2 >= password.Length))
        {
            return "This is one of the most common passwords, which attackers try first." + Advice;
        }

        if (matches.Any(m => m.Pattern is "repeat" or "sequence" or "spatial" or "digits" or "year" or "date"))
        {
            return "The password is too easy to guess: repeated characters, sequences such as abcd or 1234, keyboard rows such as qwerty and dates are tried early." + Advice;
        }

        return "The password is too easy to guess: it is made of common words or names." + Advice;
    }

    private static TesseraException Weak(string field, string message) =>
        TesseraException.ForField(ErrorCodes.WeakPassword, field, message);
}
