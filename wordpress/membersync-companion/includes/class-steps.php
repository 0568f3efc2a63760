<?php
/**
 * Step decisions MemberSync pushes for a user and course ({step id: {state: open|locked|hidden, text}}), kept in
 * user meta membersync_steps_<course> and enforced here when pages render, never asking MemberSync then:
 *
 * - locked: the step's content is replaced by its text, and the course navigation shows the text as a badge;
 * - hidden: the step leaves the course's steps (the navigation built from ld_course_steps), LearnDash's
 *   "can read this step" says no, and its page is a 404.
 *
 * @package MemberSync_Companion
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

class MemberSync_Companion_Steps {

	const STATES     = array( 'open', 'locked', 'hidden' );
	const STEP_TYPES = array( 'sfwd-lessons', 'sfwd-topic', 'sfwd-quiz' );

	public static function register(): void {
		add_filter( 'the_content', array( __CLASS__, 'content' ), 999 );
		add_action( 'template_redirect', array( __CLASS__, 'not_found' ), 1 );
		add_filter( 'get_post_metadata', array( __CLASS__, 'course_steps' ), 20, 4 );
		add_filter( 'learndash_can_user_read_step', array( __CLASS__, 'can_read' ), 20, 3 );
		add_filter( 'learndash_course_step_attributes', array( __CLASS__, 'attributes' ), 20, 4 );
	}

	public static function meta_key( int $course_id ): string {
		return 'membersync_steps_' . $course_id;
	}

	/** Replace the user's decisions for this course with these (checked by the REST route). */
	public static function store( int $user_id, int $course_id, array $steps ): void {
		if ( $steps ) {
			update_user_meta( $user_id, self::meta_key( $course_id ), $steps );
		} else {
			delete_user_meta( $user_id, self::meta_key( $course_id ) );
		}
	}

	/** {step id => ['state', 'text']} for this user and course. */
	public static function decisions( int $user_id, int $course_id ): array {
		if ( ! $user_id || ! $course_id ) {
			return array();
		}
		$steps = get_user_meta( $user_id, self::meta_key( $course_id ), true );
		return is_array( $steps ) ? $steps : array();
	}

	/** The decision on one step for the current user: ['state' => ..., 'text' => ...], or null (open). */
	public static function decision( int $step_id, int $course_id = 0, int $user_id = 0 ): ?array {
		$user_id   = $user_id ? $user_id : get_current_user_id();
		$course_id = $course_id ? $course_id : MemberSync_Companion_Access::course_of( $step_id );
		$decision  = self::decisions( $user_id, $course_id )[ $step_id ] ?? null;
		return ( $decision && 'open' !== $decision['state'] ) ? $decision : null;
	}

	public static function content( $content ) {
		$post = get_post();
		if ( ! $post || ! in_array( $post->post_type, self::STEP_TYPES, true ) ) {
			return $content;
		}
		$decision = self::decision( (int) $post->ID );
		if ( ! $decision ) {
			return $content;
		}
		if ( 'hidden' === $decision['state'] ) {
			return '';
		}
		return '<div class="membersync-locked">' . wpautop( esc_html( $decision['text'] ) ) . '</div>';
	}

	public static function not_found(): void {
		if ( ! is_singular( self::STEP_TYPES ) ) {
			return;
		}
		$decision = self::decision( (int) get_queried_object_id() );
		if ( $decision && 'hidden' === $decision['state'] ) {
			global $wp_query;
			$wp_query->set_404();
			status_header( 404 );
			nocache_headers();
		}
	}

	public static function can_read( $can_read, $step_id = 0, $course_id = 0 ) {
		$decision = self::decision( (int) $step_id, (int) $course_id );
		return ( $decision && 'hidden' === $decision['state'] ) ? false : $can_read;
	}

	public static function attributes( $attributes, $step_id = 0, $course_id = 0, $user_id = 0 ) {
		$decision = self::decision( (int) $step_id, (int) $course_id, (int) $user_id );
		if ( $decision && 'locked' === $decision['state'] ) {
			$attributes   = is_array( $attributes ) ? $attributes : array();
			$attributes[] = array(
				'label' => $decision['text'],
				'icon'  => 'ld-icon-unlocked',
				'class' => 'ld-status-waiting ld-tertiary-background membersync-locked',
			);
		}
		return $attributes;
	}

	/**
	 * LearnDash builds a course's navigation from the course's ld_course_steps meta; for a user with hidden
	 * steps in that course, they are taken out of what the meta read returns (the stored meta is untouched).
	 */
	public static function course_steps( $value, $object_id, $meta_key, $single ) {
		static $busy = false;
		if ( 'ld_course_steps' !== $meta_key || $busy || 'sfwd-courses' !== get_post_type( $object_id ) ) {
			return $value;
		}
		$hidden = array();
		foreach ( self::decisions( get_current_user_id(), (int) $object_id ) as $step_id => $decision ) {
			if ( 'hidden' === $decision['state'] ) {
				$hidden[ (int) $step_id ] = true;
			}
		}
		if ( ! $hidden ) {
			return $value;
		}
		$busy  = true;
		$steps = get_post_meta( $object_id, 'ld_course_steps', true );
		$busy  = false;
		if ( ! is_array( $steps ) || ! isset( $steps['steps']['h'] ) ) {
			return $value;
		}
		$steps['steps']['h'] = self::without( $steps['steps']['h'], $hidden );
		return array( $steps ); // get_metadata() takes [0] of a short-circuit for a single value.
	}

	/** The nested {post type: {step id: {post type: ...}}} tree without the hidden ids (and what is below them). */
	private static function without( array $tree, array $hidden ): array {
		foreach ( $tree as $type => $steps ) {
			if ( ! is_array( $steps ) ) {
				continue;
			}
			foreach ( $steps as $step_id => $children ) {
				if ( isset( $hidden[ (int) $step_id ] ) ) {
					unset( $tree[ $type ][ $step_id ] );
				} elseif ( is_array( $children ) ) {
					$tree[ $type ][ $step_id ] = self::without( $children, $hidden );
				}
			}
		}
		return $tree;
	}
}
