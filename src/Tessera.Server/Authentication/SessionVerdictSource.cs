using Tessera.AspNetCore;
using Tessera.Core;
using Tessera.Core.Sessions;
using Tessera.Server.Http;

namespace Tessera.Server.Authentication;

/// <summary>
/// The Tessera scheme's verdicts inside Tessera itself: the <see cref="SessionValidator"/> in process (a cache hit costs
/// no I/O), never HTTP to itself. A request to an endpoint marked <see cref="TesseraWatchOnlyAttribute"/> only watches
/// the session (<see cref="SessionUse.Watch"/>); every other counts as use. The verdict keeps the
/// <see cref="CurrentSession"/> (or, refused, the <see cref="RefusedSession"/>) as its state.
/// </summary>
internal sealed class SessionVerdictSource(SessionValidator validator) : ITesseraVerdictSource
{
    public async ValueTask<TesseraVerdict> GetVerdictAsync(TesseraVerdictRequest request, CancellationToken cancellationToken)
    {
        var use = request.Watching ? SessionUse.Watch : SessionUse.Activity;
        var check = await validator.CheckAsync(request.Token, use, cancellationToken);
        if (check.Holds && check.Entry is { } entry)
        {
            var current = new CurrentSession(check, request.Token, request.ViaCookie);
            // Only the claims the server's policies read: the admin policy reads the role.
            return new TesseraVerdict
            {
                IsActive = true,
                Subject = entry.User.User.Id,
                SessionId = entry.Id,
                Role = WireNames.RoleName(entry.User.User.Role),
                State = current,
            };
        }

        var verdict = check.Verdict;
        return new TesseraVerdict
        {
            IsActive = false,
            Code = Problems.SessionRejectedCode(verdict),
            Reason = verdict.Reason?.ToWireName(),
            BannedUntil = verdict.BannedUntil,
            Sentence = Problems.SessionRejectedDetail(verdict),
            State = new RefusedSession(check, request.Token, request.ViaCookie),
        };
    }
}
