#include "syslink/broker/name_policy.h"

#include <grp.h>
#include <pwd.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "syslink/broker/control_messages.h"

namespace syslink::broker {
namespace {

constexpr size_t kMaxPolicyBytes = 1 << 20;

bool LookUpUser(const std::string& name, uid_t* uid) {
  struct passwd entry, *found = nullptr;
  std::vector<char> buffer(16384);
  if (getpwnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found) != 0 ||
      found == nullptr) {
    return false;
  }
  *uid = found->pw_uid;
  return true;
}

bool LookUpGroup(const std::string& name, gid_t* gid) {
  struct group entry, *found = nullptr;
  std::vector<char> buffer(65536);
  if (getgrnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found) != 0 ||
      found == nullptr) {
    return false;
  }
  *gid = found->gr_gid;
  return true;
}

// "uids 1000, 1001; gids 27", or "nobody" for a rule that lists no one.
std::string Whom(const std::vector<uid_t>& uids, const std::vector<gid_t>& gids) {
  std::string text;
  if (!uids.empty())
    absl::StrAppend(&text, uids.size() == 1 ? "uid " : "uids ", absl::StrJoin(uids, ", "));
  if (!gids.empty()) {
    absl::StrAppend(&text, text.empty() ? "" : "; ", gids.size() == 1 ? "gid " : "gids ",
                    absl::StrJoin(gids, ", "));
  }
  return text.empty() ? "nobody" : text;
}

}  // namespace

NamePolicy NamePolicy::OwnerOnly(uid_t broker_uid) {
  NamePolicy policy;
  policy.broker_uid_ = broker_uid;
  return policy;
}

absl::StatusOr<NamePolicy> NamePolicy::Load(const std::string& path, uid_t broker_uid) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    return absl::NotFoundError(absl::StrCat("cannot read the name policy file ", path));
  }
  std::ostringstream text;
  text << file.rdbuf();
  if (text.str().size() > kMaxPolicyBytes) {
    return absl::InvalidArgumentError(
        absl::StrFormat("name policy file %s is larger than %d bytes", path, kMaxPolicyBytes));
  }
  return Parse(text.str(), path, broker_uid);
}

absl::StatusOr<NamePolicy> NamePolicy::Parse(absl::string_view text, const std::string& origin,
                                             uid_t broker_uid) {
  NamePolicy policy;
  policy.origin_ = origin;
  policy.broker_uid_ = broker_uid;
  int number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++number;
    auto bad = [&](const std::string& why) {
      return absl::InvalidArgumentError(
          absl::StrFormat("%s, line %d: %s (\"%s\")", origin, number, why, line));
    };
    absl::string_view content = line.substr(0, line.find('#'));
    std::vector<std::string> words =
        absl::StrSplit(content, absl::ByAnyChar(" \t\r"), absl::SkipEmpty());
    if (words.empty()) continue;
    Rule rule;
    rule.line = number;
    rule.text = words[0];
    rule.is_prefix = absl::EndsWith(words[0], "*");
    rule.prefix = rule.is_prefix ? words[0].substr(0, words[0].size() - 1) : words[0];
    if (absl::StrContains(rule.prefix, '*')) return bad("'*' may only end a pattern");
    if (!rule.prefix.empty() && !CheckServiceName(rule.prefix).ok()) {
      return bad("a pattern is a service name, or a prefix of one followed by '*'");
    }
    if (rule.prefix.empty() && !rule.is_prefix) return bad("empty pattern");
    for (auto it = policy.rules_.begin(); it != policy.rules_.end(); ++it) {
      if (it->prefix == rule.prefix && it->is_prefix == rule.is_prefix) {
        return bad(absl::StrCat("pattern already has a rule on line ", it->line));
      }
    }
    if (words.size() == 1) return bad("a rule names who may register: uid=, gid=, user=, group=");
    for (size_t i = 1; i < words.size(); ++i) {
      std::pair<std::string, std::string> kv = absl::StrSplit(words[i], absl::MaxSplits('=', 1));
      uint32_t id;
      if (kv.first == "uid" && absl::SimpleAtoi(kv.second, &id)) {
        rule.uids.push_back(id);
      } else if (kv.first == "gid" && absl::SimpleAtoi(kv.second, &id)) {
        rule.gids.push_back(id);
      } else if (kv.first == "user") {
        uid_t uid;
        if (!LookUpUser(kv.second, &uid)) return bad(absl::StrCat("no user ", kv.second));
        rule.uids.push_back(uid);
      } else if (kv.first == "group") {
        gid_t gid;
        if (!LookUpGroup(kv.second, &gid)) return bad(absl::StrCat("no group ", kv.second));
        rule.gids.push_back(gid);
      } else {
        return bad(absl::StrCat("\"", words[i], "\" is not uid=N, gid=N, user=NAME or group=NAME"));
      }
    }
    policy.rules_.push_back(std::move(rule));
  }
  return policy;
}

const NamePolicy::Rule* NamePolicy::Decide(const std::string& name) const {
  const Rule* best = nullptr;
  for (const Rule& rule : rules_) {
    if (!rule.is_prefix) {
      if (rule.prefix == name) return &rule;
      continue;
    }
    if (absl::StartsWith(name, rule.prefix) &&
        (best == nullptr || rule.prefix.size() > best->prefix.size())) {
      best = &rule;
    }
  }
  return best;
}

absl::Status NamePolicy::MayRegister(const std::string& name, const Credentials& who,
                                     std::span<const gid_t> groups) const {
  if (who.uid == 0 || who.uid == broker_uid_) return absl::OkStatus();
  const Rule* rule = Decide(name);
  std::string refused =
      absl::StrFormat("uid %d (gid %d) may not register service \"%s\"", who.uid, who.gid, name);
  if (rule == nullptr) {
    if (origin_.empty()) {
      return absl::PermissionDeniedError(absl::StrFormat(
          "%s: this broker (uid %d) lets only its own uid and root register names; a "
          "policy file (syslinkd --policy FILE) can give names to other users",
          refused, broker_uid_));
    }
    return absl::PermissionDeniedError(absl::StrFormat(
        "%s: no rule of the broker's name policy (%s) covers it, so only uid %d and root "
        "may register it",
        refused, origin_, broker_uid_));
  }
  if (std::count(rule->uids.begin(), rule->uids.end(), who.uid) > 0) return absl::OkStatus();
  for (gid_t gid : rule->gids) {
    if (gid == who.gid || std::count(groups.begin(), groups.end(), gid) > 0) {
      return absl::OkStatus();
    }
  }
  return absl::PermissionDeniedError(
      absl::StrFormat("%s: the broker's name policy (%s, line %d: \"%s\") gives it to %s", refused,
                      origin_, rule->line, rule->text, Whom(rule->uids, rule->gids)));
}

}  // namespace syslink::broker
