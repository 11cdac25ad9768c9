# frozen_string_literal: true

# Idempotent bootstrap of a Chatwoot installation, run inside the rails container with
# `rails runner` (scripts/bootstrap.sh). Reads its config as JSON on stdin and prints one line,
# "CHATWOOT_BOOTSTRAP_RESULT {json}", with the ids and tokens an integrating app needs.
#
# Every run converges to the config: the first run creates, later runs find the same records
# (same ids) and update what changed in place. Secrets from stdin are never printed.
#
# Identity of what it manages:
#   admin     the user with admin.email
#   account   account.id when given (an adopted installation: it must exist); else the account
#             tagged custom_attributes.managed_by = MANAGED_BY, else by name; then tagged
#   inbox     inbox.id when given (an API inbox of that account); else the API inbox tagged
#             additional_attributes.managed_by, else by name; then tagged
#   webhook   the account webhook with webhook.url; other webhooks carrying the managed name are removed
#   platform  the platform app named platform_app.name (default PLATFORM_APP_NAME), with permission
#             on the account and the admin
# An adopted installation keeps its ids and tokens: nothing is created that already exists.

require 'json'

module ChatwootBootstrap
  MANAGED_BY = 'chatwoot-hetzner'
  PLATFORM_APP_NAME = 'chatwoot-hetzner'
  RESULT_MARKER = 'CHATWOOT_BOOTSTRAP_RESULT'

  class InputError < StandardError; end

  # Installation-wide settings Chatwoot keeps in installation_configs (config/installation_config.yml),
  # which the stack may set: the names shown in the UI and mails, Captain's OpenAI key, and the
  # OAuth clients that connect Gmail and Microsoft 365 inboxes. Chatwoot reads these through
  # GlobalConfigService, which copies an environment value into the table on first read and
  # prefers the table from then on, so an env file alone could never change them again.
  # (The same list, with its upstream source, is infra/facts/chatwoot-upstream.json installationConfigs.)
  INSTALLATION_CONFIGS = %w[
    INSTALLATION_NAME BRAND_NAME CAPTAIN_OPEN_AI_API_KEY
    GOOGLE_OAUTH_CLIENT_ID GOOGLE_OAUTH_CLIENT_SECRET AZURE_APP_ID AZURE_APP_SECRET
    DIRECT_UPLOADS_ENABLED
  ].freeze
  # Those the dashboard reads as booleans (installation_config.yml seeds them false).
  BOOLEAN_INSTALLATION_CONFIGS = %w[DIRECT_UPLOADS_ENABLED].freeze

  module_function

  def main(stdin = $stdin, stdout = $stdout, stderr = $stderr)
    config = parse(stdin.read)
    # All or nothing: a failure half-way leaves the database as it was.
    result = ActiveRecord::Base.transaction { converge(config) }
    stdout.puts("#{RESULT_MARKER} #{JSON.generate(result)}")
    stdout.flush
    0
  rescue InputError => e
    stderr.puts("bootstrap: invalid input: #{e.message}")
    2
  rescue ActiveRecord::RecordInvalid => e
    # Only the model and the attributes: messages can quote values (the password gem quotes the
    # characters it rejects), and this output ends up in pulumi up's error text.
    record = e.record
    stderr.puts("bootstrap: #{record.class.name} is invalid: #{record.errors.attribute_names.join(', ')} " \
                "(values are not shown; check the matching chatwoot:* settings)")
    1
  rescue StandardError => e
    # The class and where it stopped, never the message: it may carry a value from the input.
    stderr.puts("bootstrap: #{e.class} (message withheld: it may contain a configured value)")
    stderr.puts(e.backtrace.first(5).map { |l| "  #{l}" })
    1
  end

  def parse(text)
    config = JSON.parse(text.to_s)
    raise InputError, 'expected a JSON object' unless config.is_a?(Hash)

    require_string(config, 'account', 'name')
    require_string(config, 'admin', 'email')
    require_string(config, 'admin', 'name')
    require_string(config, 'admin', 'password')
    require_string(config, 'inbox', 'name')
    %w[account inbox].each do |section|
      id = config[section]['id']
      raise InputError, "#{section}.id must be a positive whole number" unless id.nil? || (id.is_a?(Integer) && id.positive?)
    end
    platform = config.fetch('platform_app', {})
    raise InputError, 'platform_app.name must be a non-empty string' unless platform.is_a?(Hash) &&
                                                                          (platform['name'].nil? || (platform['name'].is_a?(String) && !platform['name'].strip.empty?))
    webhook = config['webhook']
    unless webhook.nil?
      raise InputError, 'webhook must be an object' unless webhook.is_a?(Hash)

      require_string(config, 'webhook', 'url')
      require_string(config, 'webhook', 'secret')
      subs = webhook['subscriptions']
      raise InputError, 'webhook.subscriptions must be a non-empty list' unless subs.is_a?(Array) && !subs.empty?
    end
    features = config.fetch('disable_features', [])
    raise InputError, 'disable_features must be a list of names' unless features.is_a?(Array) && features.all?(String)

    installation = config.fetch('installation_configs', {})
    typed = installation.is_a?(Hash) && installation.all? do |name, value|
      BOOLEAN_INSTALLATION_CONFIGS.include?(name) ? [true, false].include?(value) : value.is_a?(String)
    end
    unless typed && (installation.keys - INSTALLATION_CONFIGS).empty?
      raise InputError, "installation_configs must map some of #{INSTALLATION_CONFIGS.join(', ')} to strings " \
                        "(#{BOOLEAN_INSTALLATION_CONFIGS.join(', ')}: true or false)"
    end

    config
  rescue JSON::ParserError
    raise InputError, 'stdin is not JSON'
  end

  def require_string(config, section, key)
    value = config[section].is_a?(Hash) ? config[section][key] : nil
    raise InputError, "#{section}.#{key} is required" unless value.is_a?(String) && !value.strip.empty?
  end

  def converge(config)
    created = []
    close_signup
    finish_onboarding
    admin = ensure_admin(config['admin'], created)
    account = ensure_account(config['account'], admin, created)
    ensure_membership(account, admin, created)
    inbox = ensure_inbox(account, config['inbox'], created)
    webhook, removed = ensure_webhook(account, config['webhook'], created)
    platform_app = ensure_platform_app(config.fetch('platform_app', {})['name'] || PLATFORM_APP_NAME, account, admin, created)
    disabled = disable_features(account, config.fetch('disable_features', []))
    configs_set = set_installation_configs(config.fetch('installation_configs', {}))

    {
      account_id: account.id,
      admin_user_id: admin.id,
      inbox_id: inbox.id,
      inbox_identifier: inbox.channel.identifier,
      webhook_id: webhook&.id,
      api_access_token: admin.access_token.token,
      platform_token: platform_app.access_token.token,
      created: created,
      removed_webhooks: removed,
      disabled_features: disabled,
      # Names only: a value may be a key.
      installation_configs_set: configs_set
    }
  end

  # Signup stays off whatever the env says: since v3.6 the database value wins.
  def close_signup
    setting = InstallationConfig.find_or_initialize_by(name: 'ENABLE_ACCOUNT_SIGNUP')
    return if setting.persisted? && setting.value == false

    setting.value = false
    setting.locked = false
    setting.save!
  end

  # Sets each given installation config, leaving equal ones alone; returns the names it changed.
  # Settings the stack is not given are not touched (an operator may have set them in the UI).
  def set_installation_configs(values)
    values.keys.sort.filter_map do |name|
      setting = InstallationConfig.find_or_initialize_by(name: name)
      next if setting.persisted? && setting.value == values[name]

      setting.value = values[name]
      setting.locked = false unless setting.persisted?
      setting.save!
      name
    end
  end

  # The seed sets a Redis flag that redirects every dashboard visit to the onboarding wizard.
  def finish_onboarding
    Redis::Alfred.delete(Redis::Alfred::CHATWOOT_INSTALLATION_ONBOARDING)
  end

  def ensure_admin(cfg, created)
    email = cfg['email'].strip.downcase
    user = User.from_email(email)
    if user.nil?
      user = User.new(email: email, name: cfg['name'])
      # The password is only set here: later runs never overwrite one changed in the UI.
      user.password = cfg['password']
      user.password_confirmation = cfg['password']
      user.skip_confirmation!
      created << 'admin'
    end
    user.name = cfg['name'] if user.name != cfg['name']
    # An adopted installation's admin keeps its user type unless the config asks for SuperAdmin.
    user.type = 'SuperAdmin' if cfg['superAdmin'] != false && user.type != 'SuperAdmin'
    user.skip_confirmation! if user.respond_to?(:confirmed?) && !user.confirmed?
    user.save! if user.new_record? || user.changed?
    user
  end

  def ensure_account(cfg, admin, created)
    account = if cfg['id']
                # Adopted: the id the old installation's apps use (CHATWOOT_ACCOUNT_ID) must exist.
                Account.find_by(id: cfg['id']) or raise InputError, "account.id #{cfg['id']} does not exist in this database"
              else
                managed_account(admin) || Account.find_by(name: cfg['name'])
              end
    if account.nil?
      account = Account.new(name: cfg['name'])
      created << 'account'
    end
    account.name = cfg['name']
    # Without a locale (an adopted account), the account keeps its own; a new one starts in English.
    account.locale = cfg['locale'] || 'en' if cfg['locale'] || account.new_record?
    attrs = account.custom_attributes || {}
    account.custom_attributes = attrs.merge('managed_by' => MANAGED_BY) unless attrs['managed_by'] == MANAGED_BY
    account.save! if account.new_record? || account.changed?
    account
  end

  def managed_account(admin)
    admin.account_users.map(&:account).find { |a| (a.custom_attributes || {})['managed_by'] == MANAGED_BY }
  end

  def ensure_membership(account, admin, created)
    membership = AccountUser.find_by(account_id: account.id, user_id: admin.id)
    if membership.nil?
      AccountUser.create!(account_id: account.id, user_id: admin.id, role: :administrator)
      created << 'membership'
    elsif membership.role.to_s != 'administrator'
      membership.update!(role: :administrator)
    end
  end

  def ensure_inbox(account, cfg, created)
    api_inboxes = account.inboxes.where(channel_type: 'Channel::Api').to_a
    inbox = if cfg['id']
              api_inboxes.find { |i| i.id == cfg['id'] } or
                raise InputError, "inbox.id #{cfg['id']} is not an API inbox of account #{account.id}"
            else
              api_inboxes.find { |i| (i.channel.additional_attributes || {})['managed_by'] == MANAGED_BY } ||
                api_inboxes.find { |i| i.name == cfg['name'] }
            end
    if inbox.nil?
      channel = Channel::Api.create!(account_id: account.id, webhook_url: '', hmac_mandatory: false,
                                     additional_attributes: { 'managed_by' => MANAGED_BY })
      inbox = Inbox.create!(account_id: account.id, name: cfg['name'], channel: channel)
      created << 'inbox'
      return inbox
    end
    channel = inbox.channel
    attrs = channel.additional_attributes || {}
    channel.update!(additional_attributes: attrs.merge('managed_by' => MANAGED_BY)) unless attrs['managed_by'] == MANAGED_BY
    inbox.update!(name: cfg['name']) if inbox.name != cfg['name']
    inbox
  end

  # Returns [webhook or nil, ids of removed webhooks].
  def ensure_webhook(account, cfg, created)
    return [nil, []] if cfg.nil?

    name = cfg['name'] || 'pulumi-managed'
    webhook = account.webhooks.find_or_initialize_by(url: cfg['url'])
    created << 'webhook' if webhook.new_record?
    webhook.name = name
    webhook.webhook_type = 'account_type'
    webhook.subscriptions = cfg['subscriptions']
    webhook.secret = cfg['secret']
    webhook.save! if webhook.new_record? || webhook.changed?
    # The URL is the identity: when it changes, the webhook for the old URL goes away.
    stale = account.webhooks.where(name: name).to_a.reject { |w| w.id == webhook.id }
    stale.each(&:destroy!)
    [webhook, stale.map(&:id)]
  end

  def ensure_platform_app(name, account, admin, created)
    app = PlatformApp.find_by(name: name)
    if app.nil?
      app = PlatformApp.create!(name: name)
      created << 'platform_app'
    end
    [account, admin].each do |permissible|
      PlatformAppPermissible.find_or_create_by!(platform_app: app, permissible: permissible)
    end
    app
  end

  # Runs after every upgrade too: Chatwoot's upgrade migrations switch features back on for every
  # account (e.g. enable_captain_tasks_for_existing_accounts).
  def disable_features(account, names)
    return [] if names.empty?

    # all_features lists exactly config/features.yml; respond_to?("feature_x?") also answers for
    # methods that are not features (feature_flags?).
    unknown = names - account.all_features.keys.map(&:to_s)
    raise InputError, "unknown Chatwoot feature(s): #{unknown.join(', ')}" unless unknown.empty?

    enabled = names.select { |n| account.feature_enabled?(n) }
    # disable_features! saves and returns false on a validation failure instead of raising.
    if !enabled.empty? && !account.disable_features!(*enabled)
      raise InputError, "could not disable features on the account: invalid #{account.errors.attribute_names.join(', ')}"
    end
    names
  end
end

exit(ChatwootBootstrap.main) unless defined?(BOOTSTRAP_NO_AUTORUN)
