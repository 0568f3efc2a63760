<?php
/**
 * Settings: where MemberSync is (its URL and this site's connection name there), the shared secret that signs
 * deliveries (kept sealed with the site's salt, never shown again), and the name of the application password
 * MemberSync signs in with (its own enrollments are not echoed back to it). A page under Settings → MemberSync
 * edits them and shows the status line.
 *
 * @package MemberSync_Companion
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

class MemberSync_Companion_Settings {

	const OPTION        = 'membersync_companion';
	const STATE         = 'membersync_companion_state';
	const PAGE          = 'membersync-companion';
	const DEFAULT_NAME  = 'MemberSync';

	public static function register(): void {
		add_action( 'admin_init', array( __CLASS__, 'admin_init' ) );
		add_action( 'admin_menu', array( __CLASS__, 'admin_menu' ) );
	}

	/** The settings, with defaults; the secret only as sealed text (see secret()). */
	public static function get(): array {
		$saved = get_option( self::OPTION, array() );
		return array_merge(
			array(
				'url'               => '',
				'connection'        => '',
				'secret_sealed'     => '',
				'app_password_name' => self::DEFAULT_NAME,
			),
			is_array( $saved ) ? $saved : array()
		);
	}

	/** Whether deliveries can be sent: a URL, a connection name and a secret. */
	public static function configured(): bool {
		$settings = self::get();
		return '' !== $settings['url'] && '' !== $settings['connection'] && '' !== self::secret();
	}

	/** Where deliveries go: <MemberSync URL>/webhooks/learndash/<connection name>. */
	public static function endpoint(): string {
		$settings = self::get();
		return untrailingslashit( $settings['url'] ) . '/webhooks/learndash/' . rawurlencode( $settings['connection'] );
	}

	public static function secret(): string {
		return self::open( self::get()['secret_sealed'] );
	}

	public static function app_password_name(): string {
		$name = trim( (string) self::get()['app_password_name'] );
		return '' === $name ? self::DEFAULT_NAME : $name;
	}

	/**
	 * Save settings from code (the settings page goes through sanitize()). A null value keeps what is set;
	 * 'secret' is sealed before it is stored.
	 */
	public static function save( array $values ): void {
		$settings = self::get();
		foreach ( array( 'url', 'connection', 'app_password_name' ) as $key ) {
			if ( isset( $values[ $key ] ) ) {
				$settings[ $key ] = (string) $values[ $key ];
			}
		}
		if ( isset( $values['secret'] ) ) {
			$settings['secret_sealed'] = self::seal( (string) $values['secret'] );
		}
		remove_filter( 'sanitize_option_' . self::OPTION, array( __CLASS__, 'sanitize' ) );
		update_option( self::OPTION, $settings, false );
	}

	// ---- what happened: last delivery, last error ----

	public static function state(): array {
		$state = get_option( self::STATE, array() );
		return array_merge( array( 'last_delivery_at' => 0, 'last_error' => '' ), is_array( $state ) ? $state : array() );
	}

	public static function state_set( array $changes ): void {
		update_option( self::STATE, array_merge( self::state(), $changes ), false );
	}

	// ---- the secret at rest: sealed with a key derived from the site's auth salt ----

	private static function key(): string {
		return sodium_crypto_generichash( wp_salt( 'auth' ) . '|membersync-companion', '', SODIUM_CRYPTO_SECRETBOX_KEYBYTES );
	}

	public static function seal( string $secret ): string {
		if ( '' === $secret ) {
			return '';
		}
		$nonce = random_bytes( SODIUM_CRYPTO_SECRETBOX_NONCEBYTES );
		return base64_encode( $nonce . sodium_crypto_secretbox( $secret, $nonce, self::key() ) ); // phpcs:ignore WordPress.PHP.DiscouragedPHPFunctions.obfuscation_base64_encode
	}

	public static function open( string $sealed ): string {
		if ( '' === $sealed ) {
			return '';
		}
		$raw = base64_decode( $sealed, true ); // phpcs:ignore WordPress.PHP.DiscouragedPHPFunctions.obfuscation_base64_decode
		if ( false === $raw || strlen( $raw ) <= SODIUM_CRYPTO_SECRETBOX_NONCEBYTES ) {
			return '';
		}
		$plain = sodium_crypto_secretbox_open(
			substr( $raw, SODIUM_CRYPTO_SECRETBOX_NONCEBYTES ),
			substr( $raw, 0, SODIUM_CRYPTO_SECRETBOX_NONCEBYTES ),
			self::key()
		);
		// The site's salts changed: the secret cannot be read and must be entered again.
		return false === $plain ? '' : $plain;
	}

	// ---- the settings page ----

	public static function admin_init(): void {
		register_setting(
			self::PAGE,
			self::OPTION,
			array(
				'type'              => 'array',
				'sanitize_callback' => array( __CLASS__, 'sanitize' ),
				'show_in_rest'      => false,
			)
		);
	}

	public static function admin_menu(): void {
		add_options_page( 'MemberSync', 'MemberSync', 'manage_options', self::PAGE, array( __CLASS__, 'render' ) );
	}

	/** The form's values checked; a wrong one keeps the saved value and says why. An empty secret keeps it. */
	public static function sanitize( $input ): array {
		$settings = self::get();
		$input    = is_array( $input ) ? $input : array();
		$url      = trim( (string) ( $input['url'] ?? '' ) );
		if ( '' === $url || preg_match( '#^https?://[^/\s]+#i', $url ) ) {
			$settings['url'] = esc_url_raw( $url );
		} else {
			add_settings_error( self::OPTION, 'url', 'The MemberSync URL must start with https:// (or http:// on the same machine); it was not changed.' );
		}
		$connection = trim( (string) ( $input['connection'] ?? '' ) );
		if ( '' === $connection || preg_match( '/^[A-Za-z0-9_-]{1,64}$/', $connection ) ) {
			$settings['connection'] = $connection;
		} else {
			add_settings_error( self::OPTION, 'connection', 'The connection name is the NAME of `membersync connect learndash NAME`: letters, digits, - and _; it was not changed.' );
		}
		$name                          = sanitize_text_field( (string) ( $input['app_password_name'] ?? '' ) );
		$settings['app_password_name'] = '' === $name ? self::DEFAULT_NAME : $name;
		$secret                        = (string) ( $input['secret'] ?? '' );
		if ( '' !== $secret ) {
			$settings['secret_sealed'] = self::seal( $secret );
		}
		return $settings;
	}

	/** One line: when the last delivery went through, how many wait, and the last error. */
	public static function status_line(): string {
		$state = self::state();
		$queue = MemberSync_Companion_Queue::length();
		$last  = $state['last_delivery_at'] ? gmdate( 'Y-m-d H:i:s', (int) $state['last_delivery_at'] ) . ' UTC' : 'never';
		$line  = sprintf( 'Last delivery: %s. Waiting to be sent: %d.', $last, $queue );
		if ( '' !== $state['last_error'] ) {
			$line .= ' Last error: ' . $state['last_error'];
		}
		return $line;
	}

	public static function render(): void {
		if ( ! current_user_can( 'manage_options' ) ) {
			return;
		}
		$settings = self::get();
		$has      = '' !== $settings['secret_sealed'];
		echo '<div class="wrap"><h1>MemberSync</h1>';
		echo '<p id="membersync-status">' . esc_html( self::status_line() ) . '</p>';
		settings_errors( self::OPTION );
		echo '<form method="post" action="options.php">';
		settings_fields( self::PAGE );
		echo '<table class="form-table" role="presentation">';
		self::row( 'url', 'MemberSync URL', '<input type="url" class="regular-text" name="' . esc_attr( self::OPTION ) . '[url]" id="url" value="' . esc_attr( $settings['url'] ) . '" placeholder="https://members.example.com">' );
		self::row( 'connection', 'Connection name', '<input type="text" class="regular-text" name="' . esc_attr( self::OPTION ) . '[connection]" id="connection" value="' . esc_attr( $settings['connection'] ) . '">' );
		self::row(
			'secret',
			'Secret',
			'<input type="password" class="regular-text" autocomplete="new-password" name="' . esc_attr( self::OPTION ) . '[secret]" id="secret" value="" placeholder="' . ( $has ? esc_attr( 'set (leave empty to keep it)' ) : '' ) . '">'
		);
		self::row( 'app_password_name', 'Application password name', '<input type="text" class="regular-text" name="' . esc_attr( self::OPTION ) . '[app_password_name]" id="app_password_name" value="' . esc_attr( $settings['app_password_name'] ) . '"><p class="description">Enrollments MemberSync makes signing in with this application password are not sent back to it.</p>' );
		echo '</table>';
		submit_button();
		echo '</form></div>';
	}

	private static function row( string $id, string $label, string $field ): void {
		echo '<tr><th scope="row"><label for="' . esc_attr( $id ) . '">' . esc_html( $label ) . '</label></th><td>' . $field . '</td></tr>'; // phpcs:ignore WordPress.Security.EscapeOutput.OutputNotEscaped -- built escaped above
	}
}
